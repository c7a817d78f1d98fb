/**
 * The writers against real Postgres and Qdrant: statement splitting by row
 * count and by size, repeated ids in one batch, point ids, request
 * splitting by bytes and count, and vector-size mismatches.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { createFeatureHashingEmbedder } from '../src/embedding/feature-hashing.js';
import type { MemoryEvent } from '../src/events/schema.js';
import { toVectorPoint } from '../src/consumers/vector-indexer.js';
import { createPostgresKvStore, type KvStore } from '../src/stores/postgres-kv-store.js';
import { uuidV5 } from '../src/stores/point-id.js';
import { createQdrantVectorStore } from '../src/stores/qdrant-vector-store.js';
import { startDirectApp } from './support/apps.js';
import { countPoints, countRows, postJson, queryRows, testBackends, uniqueName } from './support/backends.js';

const log = pino({ level: 'silent' });
const embedder = createFeatureHashingEmbedder(128);
let backends: Awaited<ReturnType<typeof testBackends>>;
let kvStore: KvStore;

before(async () => {
  backends = await testBackends();
  kvStore = createPostgresKvStore({ connectionString: backends.postgresUrl, log });
  await kvStore.ensureSchema();
});

after(async () => {
  await kvStore.close();
});

function eventsFor(runId: string, count: number, namespace = 'api_ns', text = (index: number) => `text ${index}`): MemoryEvent[] {
  return Array.from({ length: count }, (_, index) => ({
    event_id: randomUUID(),
    id: `${runId}-${index}`,
    namespace,
    type: 'episodic',
    timestamp: '2025-09-27T12:34:56.789+00:00',
    payload: { text: text(index), run_id: runId },
  }));
}

test('a very large batch is stored in several statements', async () => {
  const runId = uniqueName('run');
  const events = eventsFor(runId, 12_000);
  const result = await kvStore.upsert(events);
  assert.equal(result.rows, 12_000);
  assert.equal(result.statements, 3);
  assert.equal(await countRows(backends.postgresUrl, runId), 12_000);

  const replay = await kvStore.upsert(events);
  assert.equal(replay.statements, 3);
  assert.equal(await countRows(backends.postgresUrl, runId), 12_000);
});

test('upserts split by JSON size', async () => {
  const runId = uniqueName('run');
  const store = createPostgresKvStore({ connectionString: backends.postgresUrl, log, maxCharsPerStatement: 4096 });
  try {
    // 40 rows of about 1 KiB each: at most 4 fit under 4096 characters.
    const events = eventsFor(runId, 40, 'api_ns', (index) => `${index} ${'word '.repeat(200)}`);
    const result = await store.upsert(events);
    assert.equal(result.rows, 40);
    assert.ok(result.statements >= 10, `${result.statements} statements`);
    assert.equal(await countRows(backends.postgresUrl, runId), 40);
    const rows = await queryRows<{ value: any }>(backends.postgresUrl, 'SELECT value FROM public.kv_store WHERE id = $1', [`${runId}-39`]);
    assert.equal(rows[0]?.value.payload.text, `39 ${'word '.repeat(200)}`);
  } finally {
    await store.close();
  }
});

test('repeated id in one batch keeps the later event', async () => {
  const runId = uniqueName('run');
  const [first, second] = eventsFor(runId, 2);
  assert.ok(first);
  assert.ok(second);
  const later = { ...second, id: first.id, payload: { text: 'later', run_id: runId } };
  const result = await kvStore.upsert([first, second, later]);
  assert.equal(result.rows, 2);
  const rows = await queryRows<{ value: any }>(backends.postgresUrl, 'SELECT value FROM public.kv_store WHERE id = $1', [first.id]);
  assert.equal(rows.length, 1);
  assert.equal(rows[0]?.value.payload.text, 'later');
});

test('Qdrant upserts split by bytes and count', async () => {
  const namespace = uniqueName('ns');
  const runId = uniqueName('run');
  const requests: { points: number; bytes: number }[] = [];
  const store = createQdrantVectorStore({
    url: backends.qdrantUrl,
    vectorSize: 128,
    log,
    maxPointsPerRequest: 40,
    maxRequestBytes: 64 * 1024,
    onRequest: (_collection, points, bytes) => void requests.push({ points, bytes }),
  });
  // 100 points of about 8 KiB each: the byte limit allows 7 per request, well below the count limit.
  const big = eventsFor(runId, 100, namespace, (index) => `${index} ${'word '.repeat(1600)}`);
  assert.equal(await store.upsert(big.map((event) => toVectorPoint(event, embedder))), requests.length);
  assert.ok(requests.length >= 14, `${requests.length} requests`);
  assert.ok(requests.every((request) => request.bytes <= 64 * 1024 && request.points <= 7));

  const counted: number[] = [];
  const countLimited = createQdrantVectorStore({
    url: backends.qdrantUrl,
    vectorSize: 128,
    log,
    maxPointsPerRequest: 40,
    onRequest: (_collection, points) => void counted.push(points),
  });
  const small = eventsFor(`${runId}-s`, 100, namespace);
  await countLimited.upsert(small.map((event) => toVectorPoint(event, embedder)));
  assert.deepEqual(counted, [40, 40, 20]);
  assert.equal(await countPoints(backends.qdrantUrl, namespace, runId), 100);

  const id = `${runId}-7`;
  const response = await fetch(`${backends.qdrantUrl}/collections/${namespace}/points/${uuidV5(id)}`);
  assert.equal(response.status, 200);
  const point = (await response.json()) as { result: { payload: { id: string; run_id: string; namespace: string; content_hash: string } } };
  assert.equal(point.result.payload.id, id);
  assert.equal(point.result.payload.run_id, runId);
  assert.equal(point.result.payload.namespace, namespace);
  assert.match(point.result.payload.content_hash, /^[0-9a-f]{64}$/);
});

test('a collection with another vector size fails /readyz naming both sizes', async () => {
  const namespace = uniqueName('ns');
  const created = await fetch(`${backends.qdrantUrl}/collections/${namespace}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ vectors: { size: 64, distance: 'Cosine' } }),
  });
  assert.equal(created.status, 200);

  const direct = await startDirectApp(backends, { SOMA_DEFAULT_NAMESPACE: namespace });
  try {
    const response = await fetch(`${direct.url}/readyz`);
    assert.equal(response.status, 503);
    const body = (await response.json()) as { status: string; checks: { qdrant: { ok: boolean; detail: string } } };
    assert.equal(body.status, 'not_ready');
    assert.equal(body.checks.qdrant.ok, false);
    assert.match(body.checks.qdrant.detail, new RegExp(`collection ${namespace} has vector size 64 but SOMA_VECTOR_SIZE is 128`));

    const store = await fetch(`${direct.url}/store`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":"a"}' });
    assert.equal(store.status, 503);
    assert.equal(((await store.json()) as { code: string }).code, 'SOMA_ERR_DEPENDENCY_UNAVAILABLE');
  } finally {
    await direct.close();
  }
});

test('v5-lookalike id keeps own point', async () => {
  const direct = await startDirectApp(backends);
  try {
    const runId = uniqueName('run');
    const source = `${runId}-source`;
    const lookalike = uuidV5(source);
    const response = await postJson(`${direct.url}/store_bulk`, {
      items: [
        { id: source, text: 'the source item', run_id: runId },
        { id: lookalike, text: 'an item whose id is the source id\'s v5 UUID', run_id: runId },
      ],
    });
    assert.equal(response.status, 201);
    assert.equal(response.body.accepted, 2);
    assert.equal(await countRows(backends.postgresUrl, runId), 2);
    assert.equal(await countPoints(backends.qdrantUrl, direct.namespace, runId), 2);
  } finally {
    await direct.close();
  }
});
