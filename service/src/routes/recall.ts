/** POST /recall: nearest items of a namespace to a query text, from Qdrant. */
import type { FastifyInstance } from 'fastify';
import type { Embedder } from '../embedding/embedder.js';
import { countCodePoints, somaError } from '../errors.js';
import { createAjv, describeAjvError } from '../events/ajv.js';
import { describeFailure } from '../readiness.js';
import { qdrantStatus, type SearchHit, type VectorStore } from '../stores/qdrant-vector-store.js';

export const MAX_TOP_K = 1000;
export const DEFAULT_TOP_K = 10;

const RECALL_RETRY = 'the search did not run, retry the request later';

interface RecallRequest {
  query: string;
  top_k?: number;
  namespace?: string;
  filter?: Record<string, string | number | boolean>;
}

const validateRecall = createAjv().compile<RecallRequest>({
  type: 'object',
  additionalProperties: false,
  required: ['query'],
  properties: {
    query: { type: 'string', minLength: 1 },
    top_k: { type: 'integer', minimum: 1, maximum: MAX_TOP_K },
    namespace: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$' },
    filter: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } },
  },
});

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
      throw somaError(
        'SOMA_ERR_DEPENDENCY_UNAVAILABLE',
        { dependency: 'qdrant', detail: describeFailure(error), effect: RECALL_RETRY },
        { cause: error },
      );
    }
    return { results };
  });
}
