/** The kv-writer: writes each batch of events to public.kv_store with one upsert call. */
import type { Metrics } from '../metrics.js';
import { describeFailure } from '../readiness.js';
import { isPostgresDataError, type KvStore } from '../stores/postgres-kv-store.js';
import { listNames, type BatchWriter } from './batch-consumer.js';

export function createKvWriter(store: KvStore, metrics: Metrics): BatchWriter {
  return {
    name: 'postgres',
    component: 'kv-writer',
    store: 'Postgres',
    describeTarget(events) {
      const names = events.map((event) => event.namespace);
      return `table public.kv_store (${new Set(names).size === 1 ? 'namespace' : 'namespaces'} ${listNames(names)})`;
    },
    describeError: describeFailure,
    async write(events) {
      const stopTimer = metrics.postgresWriteDuration.startTimer();
      try {
        await store.upsert(events);
      } catch (error) {
        metrics.postgresWriteFailures.inc();
        throw error;
      } finally {
        stopTimer();
      }
    },
    isDataError: isPostgresDataError,
  };
}
