/** The kv-writer: writes each batch of events to public.kv_store with one upsert call. */
import type { Metrics } from '../metrics.js';
import { isPostgresDataError, type KvStore } from '../stores/postgres-kv-store.js';
import type { BatchWriter } from './batch-consumer.js';

export function createKvWriter(store: KvStore, metrics: Metrics): BatchWriter {
  return {
    name: 'postgres',
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
