/** GET /memories/:id: the kv_store row of one item. */
import type { FastifyInstance } from 'fastify';
import { countCodePoints, somaError } from '../errors.js';
import { stringProblem } from '../events/json-inspect.js';
import { describeFailure } from '../readiness.js';
import type { KvStore } from '../stores/postgres-kv-store.js';

/** Maximum id length in Unicode code points, the same limit as for the id of a stored item. */
export const MAX_ID_LENGTH = 256;

/**
 * Names what is wrong with a requested id under the rules that the store
 * routes apply to item ids, or returns undefined for a valid id. Postgres
 * would reject the NUL character with an error, and an id that breaks these
 * rules can never have been stored.
 */
export function idProblem(id: string): string | undefined {
  if (id === '') return 'the id is empty';
  const length = id.length > MAX_ID_LENGTH ? countCodePoints(id) : id.length;
  if (length > MAX_ID_LENGTH) return `the id has ${length} characters and the limit is ${MAX_ID_LENGTH}`;
  const problem = stringProblem(id);
  return problem === undefined ? undefined : `the id contains ${problem}`;
}

export function registerMemoriesRoute(app: FastifyInstance, options: { kvStore: KvStore | undefined }): void {
  app.get<{ Params: { id: string } }>('/memories/:id', async (request) => {
    const problem = idProblem(request.params.id);
    if (problem !== undefined) throw somaError('SOMA_ERR_MEMORY_INVALID_ID', { problem });
    if (options.kvStore === undefined) {
      throw somaError('SOMA_ERR_DEPENDENCY_UNAVAILABLE', {
        dependency: 'postgres',
        detail: 'SOMA_POSTGRES_URL is not set',
        effect: 'memories are read from Postgres, so set SOMA_POSTGRES_URL on the API and restart it',
      });
    }
    let row;
    try {
      row = await options.kvStore.get(request.params.id);
    } catch (error) {
      throw somaError(
        'SOMA_ERR_DEPENDENCY_UNAVAILABLE',
        { dependency: 'postgres', detail: describeFailure(error), effect: 'the memory could not be read, retry the request later' },
        { cause: error },
      );
    }
    if (row === undefined) throw somaError('SOMA_ERR_MEMORY_NOT_FOUND', { id: request.params.id });
    return row;
  });
}
