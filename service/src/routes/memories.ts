/** GET /memories/:id: the kv_store row of one item. */
import type { FastifyInstance } from 'fastify';
import { somaError } from '../errors.js';
import type { KvStore } from '../stores/postgres-kv-store.js';

export function registerMemoriesRoute(app: FastifyInstance, options: { kvStore: KvStore | undefined }): void {
  app.get<{ Params: { id: string } }>('/memories/:id', async (request) => {
    if (options.kvStore === undefined) {
      throw somaError('SOMA_ERR_DEPENDENCY_UNAVAILABLE', { dependency: 'postgres', detail: 'SOMA_POSTGRES_URL is not set' });
    }
    let row;
    try {
      row = await options.kvStore.get(request.params.id);
    } catch (error) {
      throw somaError('SOMA_ERR_DEPENDENCY_UNAVAILABLE', { dependency: 'postgres', detail: (error as Error).message }, { cause: error });
    }
    if (row === undefined) throw somaError('SOMA_ERR_MEMORY_NOT_FOUND', { id: request.params.id });
    return row;
  });
}
