/**
 * Where accepted events go. Evented mode publishes them to Kafka; direct mode
 * writes them to Postgres and Qdrant and returns when both have committed.
 * In direct mode a failure of one store can leave the other written. The
 * request then fails with 503, and a retry with the same ids converges
 * because both writes are idempotent by id.
 */
import type { Embedder } from './embedding/embedder.js';
import { somaError, SomaError } from './errors.js';
import type { EventPublisher } from './events/producer.js';
import type { MemoryEvent } from './events/schema.js';
import type { Metrics } from './metrics.js';
import { describeFailure, type DependencyName, type Readiness } from './readiness.js';
import type { KvStore } from './stores/postgres-kv-store.js';
import type { VectorStore } from './stores/qdrant-vector-store.js';
import { toVectorPoint } from './consumers/vector-indexer.js';

export type IngestMode = 'evented' | 'direct';

export interface IngestSink {
  readonly mode: IngestMode;
  /** The dependencies a write needs; store requests fail fast while one is down. */
  readonly dependencies: readonly DependencyName[];
  /** The per-event size limit that the API checks before `write`; absent when the sink has none. */
  readonly eventSizeLimit?: EventSizeLimit;
  write(events: readonly MemoryEvent[]): Promise<void>;
}

export interface EventSizeLimit {
  /** Bytes of the event as the sink sends it. */
  bytesOf(event: MemoryEvent): number;
  maxBytes: number;
}

/** Describes a failed write in one line, with the socket error instead of a wrapper such as "fetch failed". */
function describe(error: unknown): string {
  return describeFailure(error).split('\n')[0] ?? '';
}

export function createEventedSink(publisher: EventPublisher, readiness: Readiness): IngestSink {
  return {
    mode: 'evented',
    dependencies: ['kafka'],
    eventSizeLimit: { bytesOf: (event) => publisher.messageBytes(event), maxBytes: publisher.maxMessageBytes },
    async write(events) {
      try {
        await publisher.publish(events);
      } catch (error) {
        // Only a broker or connection failure marks Kafka not ready. A message that Kafka
        // rejected (SOMA_ERR_KAFKA_MESSAGE_REJECTED) fails its own request and leaves readiness alone.
        if (error instanceof SomaError && error.code === 'SOMA_ERR_KAFKA_PRODUCE_FAILED') {
          readiness.reportFailure('kafka', describe(error.cause));
        }
        throw error;
      }
    },
  };
}

export function createDirectSink(options: {
  kvStore: KvStore;
  vectorStore: VectorStore;
  embedder: Embedder;
  metrics: Metrics;
  readiness: Readiness;
}): IngestSink {
  const { kvStore, vectorStore, embedder, metrics, readiness } = options;

  async function writePostgres(events: readonly MemoryEvent[]): Promise<void> {
    const stopTimer = metrics.postgresWriteDuration.startTimer();
    try {
      await kvStore.upsert(events);
    } catch (error) {
      metrics.postgresWriteFailures.inc();
      readiness.reportFailure('postgres', describe(error));
      throw somaError('SOMA_ERR_STORE_WRITE_FAILED', { store: 'postgres', detail: describe(error) }, { cause: error });
    } finally {
      stopTimer();
    }
  }

  async function writeQdrant(events: readonly MemoryEvent[]): Promise<void> {
    const stopTimer = metrics.qdrantWriteDuration.startTimer();
    try {
      await vectorStore.upsert(events.map((event) => toVectorPoint(event, embedder)));
    } catch (error) {
      metrics.qdrantWriteFailures.inc();
      readiness.reportFailure('qdrant', describe(error));
      throw somaError('SOMA_ERR_STORE_WRITE_FAILED', { store: 'qdrant', detail: describe(error) }, { cause: error });
    } finally {
      stopTimer();
    }
  }

  return {
    mode: 'direct',
    dependencies: ['postgres', 'qdrant'],
    async write(events) {
      const results = await Promise.allSettled([writePostgres(events), writeQdrant(events)]);
      for (const result of results) {
        if (result.status === 'rejected') throw result.reason;
      }
    },
  };
}
