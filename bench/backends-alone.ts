/**
 * The backends alone, on the same items the pipeline carries: Postgres
 * batched upserts of the kv_store rows, Kafka produce of the events, and
 * Qdrant upserts of the points, each with the service's own code (store
 * modules, event builder, embedder) and the settings the service uses
 * (batches of 100, three writes in flight like the consumers' partitions
 * consumed concurrently, an idempotent acks=all producer). Rows, vectors and
 * messages are built before the timed part, so each figure is the backend's
 * rate, not the harness's.
 */
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { buildEvents } from '../service/src/events/build-events.js';
import { createKeyHashPartitioner } from '../service/src/events/partitioner.js';
import type { MemoryEvent } from '../service/src/events/schema.js';
import { createFeatureHashingEmbedder } from '../service/src/embedding/feature-hashing.js';
import { toVectorPoint } from '../service/src/consumers/vector-indexer.js';
import { createPostgresKvStore } from '../service/src/stores/postgres-kv-store.js';
import { createQdrantVectorStore, type VectorPoint } from '../service/src/stores/qdrant-vector-store.js';
import type { BackendAddresses } from '../harness/src/load/service-stack.js';
import { benchItem } from './load-generator.js';

export const BACKEND_BATCH_SIZE = 100;
/** Writes in flight, as the consumers run partitionsConsumedConcurrently: 3. */
export const BACKEND_CONCURRENCY = 3;
/** Messages per produce request; the API coalesces concurrent requests into sends of this order. */
export const PRODUCE_BATCH_SIZE = 1000;
const VECTOR_SIZE = 128;

export interface BackendRates {
  items: number;
  postgresUpsertItemsPerSecond: number;
  kafkaProduceItemsPerSecond: number;
  qdrantUpsertItemsPerSecond: number;
}

const silentLog = pino({ level: 'silent' });

function batches<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let from = 0; from < items.length; from += size) result.push(items.slice(from, from + size));
  return result;
}

/** Runs `task` over every batch with `concurrency` in flight; returns items per second. */
async function timed<T>(work: readonly T[][], concurrency: number, task: (batch: T[]) => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < work.length) {
        const batch = work[next] as T[];
        next += 1;
        await task(batch);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const items = work.reduce((total, batch) => total + batch.length, 0);
  return Math.round(items / seconds);
}

export function buildBenchEvents(runId: string, namespace: string, count: number): MemoryEvent[] {
  const items = Array.from({ length: count }, (_, seq) => benchItem(runId, namespace, seq));
  return buildEvents(items, { defaultNamespace: namespace, maxTextLength: 10_000, now: Date.now() }).events;
}

async function measurePostgres(postgresUrl: string, events: readonly MemoryEvent[]): Promise<number> {
  const store = createPostgresKvStore({ connectionString: postgresUrl, log: silentLog });
  try {
    await store.ensureSchema();
    return await timed(batches(events, BACKEND_BATCH_SIZE), BACKEND_CONCURRENCY, (batch) => store.upsert(batch));
  } finally {
    await store.close();
  }
}

async function measureKafka(brokers: string[], topic: string, events: readonly MemoryEvent[]): Promise<number> {
  const kafka = new Kafka({ clientId: 'soma-bench', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 6 }] });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: createKeyHashPartitioner });
  await producer.connect();
  try {
    const messages = events.map((event) => ({ key: event.id, value: JSON.stringify(event) }));
    return await timed(batches(messages, PRODUCE_BATCH_SIZE), 1, (batch) => producer.send({ topic, messages: batch, acks: -1 }));
  } finally {
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}

async function measureQdrant(qdrantUrl: string, namespace: string, events: readonly MemoryEvent[]): Promise<number> {
  const embedder = createFeatureHashingEmbedder(VECTOR_SIZE);
  const points: VectorPoint[] = events.map((event) => toVectorPoint(event, embedder));
  const store = createQdrantVectorStore({ url: qdrantUrl, vectorSize: VECTOR_SIZE, log: silentLog });
  await store.ensureCollection(namespace);
  try {
    return await timed(batches(points, BACKEND_BATCH_SIZE), BACKEND_CONCURRENCY, (batch) => store.upsert(batch));
  } finally {
    await fetch(`${qdrantUrl}/collections/${namespace}`, { method: 'DELETE' }).catch(() => undefined);
  }
}

/** Deletes the rows of `runId` that the Postgres measurement wrote. */
async function deleteRows(postgresUrl: string, namespace: string): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    await client.query('DELETE FROM public.kv_store WHERE namespace = $1', [namespace]);
  } finally {
    await client.end();
  }
}

/** Measures each backend on `count` items of a fresh run. */
export async function measureBackends(backends: BackendAddresses, name: string, count: number): Promise<BackendRates> {
  const namespace = `bench_backends_${name}`;
  const events = buildBenchEvents(`${namespace}-run`, namespace, count);
  const postgres = await measurePostgres(backends.postgresUrl, events);
  await deleteRows(backends.postgresUrl, namespace);
  const kafka = await measureKafka(backends.kafkaBrokers, `bench.produce.${name}`, events);
  const qdrant = await measureQdrant(backends.qdrantUrl, namespace, events);
  return { items: count, postgresUpsertItemsPerSecond: postgres, kafkaProduceItemsPerSecond: kafka, qdrantUpsertItemsPerSecond: qdrant };
}
