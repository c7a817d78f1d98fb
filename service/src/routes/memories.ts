/** GET /memories/:id: the kv_store row of one item. */
import type { FastifyInstance } from 'fastify';
import { somaError } from '../errors.js';
import { describeFailure } from '../readiness.js';
import type { KvStore } from '../stores/postgres-kv-store.js';

export function registerMemoriesRoute(app: FastifyInstance, options: { kvStore: KvStore | undefined }): void {
  app.get<{ Params: { id: string } }>('/memories/:id', async (request) => {
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
