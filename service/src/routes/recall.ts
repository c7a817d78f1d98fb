/** POST /recall: nearest items of a namespace to a query text, from Qdrant. */
import type { FastifyInstance } from 'fastify';
import type { Embedder } from '../embedding/embedder.js';
import { countCodePoints, somaError } from '../errors.js';
import { createAjv, describeAjvError, describeType } from '../events/ajv.js';
import { describeFailure } from '../readiness.js';
import { QdrantSearchRejectedError, qdrantStatus, type SearchHit, type VectorStore } from '../stores/qdrant-vector-store.js';

export const MAX_TOP_K = 1000;
export const DEFAULT_TOP_K = 10;

const RECALL_RETRY = 'the search did not run, retry the request later';

interface RecallRequest {
  query: string;
  top_k?: number;
  namespace?: string;
  filter?: Record<string, unknown>;
}

const validateRecall = createAjv().compile<RecallRequest>({
  type: 'object',
  additionalProperties: false,
  required: ['query'],
  properties: {
    query: { type: 'string', minLength: 1 },
    top_k: { type: 'integer', minimum: 1, maximum: MAX_TOP_K },
    namespace: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$' },
    // The values are checked by filterProblem, whose message names the key and the allowed types.
    filter: { type: 'object' },
  },
});

/**
 * Names the first filter value that Qdrant's `match` cannot take, or returns
 * undefined. Qdrant matches keyword strings, integers (i64) and booleans, so a
 * fraction, null, an array or an object is rejected here rather than by
 * Qdrant. Integers must also lie within ±(2^53 - 1), the same rule as item
 * numbers: JSON.parse reads numbers as doubles, so a larger integer may
 * already be rounded, and matching the rounded value would search for a value
 * the client did not send.
 */
export function filterProblem(filter: Record<string, unknown>): string | undefined {
  for (const [key, value] of Object.entries(filter)) {
    if (typeof value === 'string' || typeof value === 'boolean') continue;
    if (typeof value === 'number' && Number.isSafeInteger(value)) continue;
    // describeType names numbers that JSON.parse changed without repeating the changed value.

    return (
      `filter.${key} is ${describeType(value)}; a filter value must be a string, an integer within ±(2^53 - 1) or a boolean, ` +
      'because Qdrant matches only keywords, integers and booleans'
    );
  }
  return undefined;
}

export function registerRecallRoute(
  app: FastifyInstance,
  options: { vectorStore: VectorStore | undefined; embedder: Embedder; defaultNamespace: string; maxTextLength: number },
): void {
  app.post('/recall', async (request) => {
    const body = request.body;
    if (body === undefined) throw somaError('SOMA_ERR_BODY_EMPTY', {});
    if (!validateRecall(body)) {
      const error = validateRecall.errors?.[0];
      const problem =
        error?.keyword === 'required'
          ? `field ${String(error.params.missingProperty)} is missing; send {"query": "...", "top_k": 10}`
          : describeAjvError(error, body);
      throw somaError('SOMA_ERR_RECALL_INVALID', { problem });
    }
    const problem = body.filter === undefined ? undefined : filterProblem(body.filter);
    if (problem !== undefined) throw somaError('SOMA_ERR_RECALL_INVALID', { problem });
    // A string has at least as many UTF-16 units as code points, so only longer ones are counted.
    const queryLength = body.query.length > options.maxTextLength ? countCodePoints(body.query) : body.query.length;
    if (queryLength > options.maxTextLength) {
      throw somaError('SOMA_ERR_RECALL_INVALID', {
        problem: `query has ${queryLength} characters (Unicode code points) and the limit is ${options.maxTextLength} (SOMA_MAX_TEXT_LENGTH)`,
      });
    }
    if (options.vectorStore === undefined) {
      throw somaError('SOMA_ERR_DEPENDENCY_UNAVAILABLE', {
        dependency: 'qdrant',
        detail: 'SOMA_QDRANT_URL is not set',
        effect: 'recall searches Qdrant, so set SOMA_QDRANT_URL on the API and restart it',
      });
    }

    const namespace = body.namespace ?? options.defaultNamespace;
    let results: SearchHit[];
    try {
      results = await options.vectorStore.search(namespace, options.embedder.embed(body.query), body.top_k ?? DEFAULT_TOP_K, body.filter);
    } catch (error) {
      // A namespace that never stored anything has no collection, so nothing matches.
      if (qdrantStatus(error) === 404) return { results: [] };
      if (error instanceof QdrantSearchRejectedError) {
        throw somaError('SOMA_ERR_RECALL_REJECTED', { status: error.status, reason: error.reason }, { cause: error });
      }
      throw somaError(
        'SOMA_ERR_DEPENDENCY_UNAVAILABLE',
        { dependency: 'qdrant', detail: describeFailure(error), effect: RECALL_RETRY },
        { cause: error },
      );
    }
    return { results };
  });
}
