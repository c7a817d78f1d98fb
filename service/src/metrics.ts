/**
 * Prometheus metrics of the service. Each app instance owns its own registry,
 * so tests can build several apps in one process.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Latency buckets in seconds, from 0.5 ms to 10 s. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_SIZE_BUCKETS = [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

export interface Metrics {
  registry: Registry;
  httpRequestDuration: Histogram<'route' | 'method' | 'status_code'>;
  itemsAccepted: Counter<'mode'>;
  itemsRejected: Counter<'code'>;
  kafkaProduceDuration: Histogram;
  consumerBatchSize: Histogram<'group'>;
  consumerBatchDuration: Histogram<'group'>;
  postgresWriteDuration: Histogram;
  postgresWriteFailures: Counter;
  qdrantWriteDuration: Histogram;
  qdrantWriteFailures: Counter;
  consumerLag: Gauge<'group' | 'topic' | 'partition'>;
  deadLetter: Counter<'reason'>;
}

export interface MetricsOptions {
  /** Also export prom-client's process and Node.js runtime metrics. */
  collectDefaults?: boolean;
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.collectDefaults ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];

  return {
    registry,
    httpRequestDuration: new Histogram({
      name: 'soma_http_request_duration_seconds',
      help: 'HTTP request duration by route, method and status code.',
      labelNames: ['route', 'method', 'status_code'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    itemsAccepted: new Counter({
      name: 'soma_items_accepted_total',
      help: 'Items acknowledged to clients, by mode (evented or direct).',
      labelNames: ['mode'],
      registers,
    }),
    itemsRejected: new Counter({
      name: 'soma_items_rejected_total',
      help: 'Items rejected by validation, by error code.',
      labelNames: ['code'],
      registers,
    }),
    kafkaProduceDuration: new Histogram({
      name: 'soma_kafka_produce_duration_seconds',
      help: 'Duration of one Kafka produce call (the items of one request, or of several coalesced requests).',
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    consumerBatchSize: new Histogram({
      name: 'soma_consumer_batch_size',
      help: 'Messages per consumer batch, by consumer group.',
      labelNames: ['group'],
      buckets: BATCH_SIZE_BUCKETS,
      registers,
    }),
    consumerBatchDuration: new Histogram({
      name: 'soma_consumer_batch_duration_seconds',
      help: 'Time to decode, write and commit one consumer batch, by consumer group.',
      labelNames: ['group'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    postgresWriteDuration: new Histogram({
      name: 'soma_postgres_write_duration_seconds',
      help: 'Duration of one kv_store upsert call (all statements of one batch).',
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    postgresWriteFailures: new Counter({
      name: 'soma_postgres_write_failures_total',
      help: 'Failed kv_store upsert calls.',
      registers,
    }),
    qdrantWriteDuration: new Histogram({
      name: 'soma_qdrant_write_duration_seconds',
      help: 'Duration of one Qdrant upsert call (all requests of one batch).',
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    qdrantWriteFailures: new Counter({
      name: 'soma_qdrant_write_failures_total',
      help: 'Failed Qdrant upsert calls.',
      registers,
    }),
    consumerLag: new Gauge({
      name: 'soma_consumer_lag',
      help: 'Messages not yet committed by a consumer group, per topic and partition.',
      labelNames: ['group', 'topic', 'partition'],
      registers,
    }),
    deadLetter: new Counter({
      name: 'soma_dead_letter_total',
      help: 'Events sent to the dead-letter topic, by reason.',
      labelNames: ['reason'],
      registers,
    }),
  };
}
