/**
 * Verification's readers against real Postgres, Qdrant and Kafka, with rows
 * and points written by the service's own store writers.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import kafkajs from 'kafkajs';
import pg from 'pg';
import pino from 'pino';
import { getBackends, type BackendEndpoints } from '../../../test/support/backends.js';
import { buildEvents } from '../../../service/src/events/build-events.js';
import { createFeatureHashingEmbedder } from '../../../service/src/embedding/feature-hashing.js';
import { toVectorPoint } from '../../../service/src/consumers/vector-indexer.js';
import { createPostgresKvStore, type KvStore } from '../../../service/src/stores/postgres-kv-store.js';
import { createQdrantVectorStore, type VectorStore } from '../../../service/src/stores/qdrant-vector-store.js';
import { generateItems } from '../load/items.js';
import { expectedContentHash } from '../load/expected-hash.js';
import { createLagReader } from './kafka-lag.js';
import { COUNT_SQL, createPostgresStore, type PostgresStore } from './postgres-store.js';
import { createQdrantStore } from './qdrant-store.js';
import { reconcile } from './reconcile.js';

const { Kafka, logLevel } = kafkajs;
const log = pino({ level: 'silent' });
const VECTOR_SIZE = 128;
const suffix = randomBytes(3).toString('hex');
const RUN_ID = `verify-stores-${suffix}`;
const NAMESPACE = `verify_stores_${suffix}`;
const ITEMS = 60;

let backends: BackendEndpoints;
let kv: KvStore;
let vectors: VectorStore;
let postgres: PostgresStore;
const items = generateItems(0, ITEMS, {
  runId: RUN_ID,
  namespace: NAMESPACE,
  seed: 'stores',
  shapes: { flat: 1, coord: 1 },
  invalidItems: 0,
  textLength: { min: 20, max: 60 },
});

before(async () => {
  backends = await getBackends();
  kv = createPostgresKvStore({ connectionString: backends.postgresUrl, log });
  vectors = createQdrantVectorStore({ url: backends.qdrantUrl, vectorSize: VECTOR_SIZE, log });
  await kv.ensureSchema();
  await vectors.ensureCollection(NAMESPACE);
  const { events, rejected } = buildEvents(
    items.map((item) => item.body),
    { defaultNamespace: NAMESPACE, maxTextLength: 10_000, now: Date.now() },
  );
  assert.equal(rejected.length, 0);
  const embedder = createFeatureHashingEmbedder(VECTOR_SIZE);
  // Leave the last 5 items out of Qdrant, so that they are partial.
  await kv.upsert(events);
  await vectors.upsert(events.slice(0, ITEMS - 5).map((event) => toVectorPoint(event, embedder)));
  postgres = createPostgresStore(backends.postgresUrl);
});

after(async () => {
  await postgres?.close();
  await kv?.close();
  await vectors?.close();
});

test('postgres count uses the run_id index', async () => {
  assert.equal(await postgres.count(RUN_ID), ITEMS);

  // On a small table the planner may prefer a sequential scan, which proves
  // nothing about the index. With sequential scans switched off for this
  // session, Postgres still plans one when no index on run_id exists.
  const client = new pg.Client({ connectionString: backends.postgresUrl });
  await client.connect();
  try {
    await client.query('SET enable_seqscan = off');
    const result = await client.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${COUNT_SQL}`, [RUN_ID]);
    const plan = JSON.stringify(result.rows[0]?.['QUERY PLAN']);
    assert.doesNotMatch(plan, /"Node Type":"Seq Scan"/, `plan: ${plan}`);
    assert.match(plan, /"Node Type":"(Index Scan|Index Only Scan|Bitmap Index Scan)"/, `plan: ${plan}`);
    assert.match(plan, /"Index Name":"kv_store_run_id_idx"/, `plan: ${plan}`);
  } finally {
    await client.end();
  }
});

test('postgres rows carry the hash the harness expects', async () => {
  const rows = await postgres.list(RUN_ID);
  assert.equal(rows.length, ITEMS);
  const expected = new Map(items.map((item) => [item.id, expectedContentHash(item.body, NAMESPACE)]));
  for (const row of rows) assert.equal(row.contentHash, expected.get(row.id), `hash of ${row.id}`);
});

test('qdrant exact count filters by run id', async () => {
  const qdrant = createQdrantStore(backends.qdrantUrl, NAMESPACE);
  assert.equal(await qdrant.count(RUN_ID), ITEMS - 5);
  assert.equal(await qdrant.count(`${RUN_ID}-other`), 0);
  assert.match(qdrant.describeCount(RUN_ID), /"exact":true/);
});

test('qdrant scroll and lookup by id return the original ids', async () => {
  const qdrant = createQdrantStore(backends.qdrantUrl, NAMESPACE);
  const listed = await qdrant.list(RUN_ID);
  assert.equal(listed.length, ITEMS - 5);
  assert.ok(listed.every((record) => record.id.startsWith(RUN_ID) && record.runId === RUN_ID));
  const found = await qdrant.findByIds([items[0]?.id ?? '', items[ITEMS - 1]?.id ?? '']);
  assert.deepEqual(found.map((record) => record.id), [items[0]?.id]);
});

test('missing qdrant collection reads as empty', async () => {
  const qdrant = createQdrantStore(backends.qdrantUrl, `missing_${suffix}`);
  assert.equal(await qdrant.count(RUN_ID), 0);
  assert.deepEqual(await qdrant.list(RUN_ID), []);
});

test('reconciliation of real stores finds the partial items', async () => {
  const qdrant = createQdrantStore(backends.qdrantUrl, NAMESPACE);
  const acknowledged = items.map((item) => ({ id: item.id, expectedHash: expectedContentHash(item.body, NAMESPACE) }));
  const result = reconcile({
    runId: RUN_ID,
    acknowledged,
    stores: [
      { store: 'postgres', records: await postgres.list(RUN_ID), query: 'list' },
      { store: 'qdrant', records: await qdrant.list(RUN_ID), query: 'scroll' },
    ],
  });
  assert.deepEqual(result.counts, { lost: 0, partial: 5, duplicated: 0, phantom: 0, 'payload-mismatch': 0 });
  assert.deepEqual(result.discrepancies[0]?.sample.map((entry) => entry.id), items.slice(ITEMS - 5).map((item) => item.id));
});

test('kafka lag per partition for committed, uncommitted and empty partitions', async () => {
  const topic = `verify-lag-${suffix}`;
  const group = `verify-lag-group-${suffix}`;
  const kafka = new Kafka({ clientId: 'verify-lag-test', brokers: backends.kafkaBrokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const producer = kafka.producer();
  await admin.connect();
  await producer.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    await producer.send({ topic, messages: Array.from({ length: 4 }, (_, index) => ({ partition: 0, value: `a${index}` })) });
    await producer.send({ topic, messages: Array.from({ length: 3 }, (_, index) => ({ partition: 1, value: `b${index}` })) });
    await admin.setOffsets({ groupId: group, topic, partitions: [{ partition: 0, offset: '4' }] });

    const reader = createLagReader({ brokers: backends.kafkaBrokers, topic, groups: [group, `${group}-never`] });
    const sample = await reader.sample(0);
    await reader.close();
    assert.equal(sample.error, undefined);
    const lagOf = (name: string) => sample.groups.find((entry) => entry.group === name)?.partitions.map((entry) => [entry.partition, entry.committed, entry.lag]);
    assert.deepEqual(lagOf(group), [
      [0, 4, 0],
      [1, null, 3],
      [2, null, 0],
    ]);
    assert.deepEqual(lagOf(`${group}-never`), [
      [0, null, 4],
      [1, null, 3],
      [2, null, 0],
    ]);
    assert.equal(sample.total, 10);
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await producer.disconnect();
    await admin.disconnect();
  }
});

test('lag reader reports an unreachable broker as a sample error', async () => {
  const reader = createLagReader({ brokers: ['127.0.0.1:1'], topic: 'memory.events', groups: ['g'] });
  const sample = await reader.sample(0);
  await reader.close();
  assert.ok(sample.error, 'expected an error');
  assert.deepEqual(sample.groups, []);
});
