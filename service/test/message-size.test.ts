/**
 * Kafka message sizes against the real local broker with its default limits
 * (message.max.bytes 1,048,588). Bulks far larger than one Kafka message are
 * split over several sends, and concurrent large bulks never fail together.
 * An item whose message exceeds SOMA_KAFKA_MAX_MESSAGE_BYTES is rejected by
 * the API before it is produced, without touching other requests or /readyz.
 * A topic whose own limit is below SOMA_KAFKA_MAX_MESSAGE_BYTES shows that a
 * message Kafka rejects fails only the request that carried it.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import {
  backendEnv,
  countPoints,
  countRows,
  postJson,
  queryRows,
  readyz,
  testBackends,
  testKafka,
  uniqueName,
  waitFor,
} from './support/backends.js';
import { startServiceProcess, type ServiceProcess } from './support/service-process.js';

/** Kafka's default broker message.max.bytes, which the local broker keeps. */
const KAFKA_DEFAULT_MESSAGE_MAX_BYTES = 1_048_588;
const LIMIT = 1_000_000;
const STORE_WAIT_MS = 120_000;

let service: ServiceProcess;
let backends: Awaited<ReturnType<typeof testBackends>>;
const topic = uniqueName('size-events');
const namespace = uniqueName('size-ns');

before(async () => {
  backends = await testBackends();
  service = await startServiceProcess({
    SOMA_ROLE: 'all',
    ...backendEnv(backends),
    SOMA_KAFKA_TOPIC: topic,
    SOMA_KAFKA_DLQ_TOPIC: `${topic}.dlq`,
    SOMA_KAFKA_PARTITIONS: '3',
    SOMA_KV_GROUP: uniqueName('size-kv'),
    SOMA_VECTOR_GROUP: uniqueName('size-vec'),
    SOMA_DEFAULT_NAMESPACE: namespace,
  });
});

after(async () => {
  const code = await service.stop('SIGTERM');
  assert.equal(code, 0, `service exit code; output:\n${service.output().slice(-2000)}`);
});

function bulkOf(runId: string, count: number, textLength: number): { items: unknown[] } {
  const filler = 'x'.repeat(textLength - 12);
  return {
    items: Array.from({ length: count }, (_, index) => ({
      id: `${runId}-${index}`,
      text: `${String(index).padStart(11, '0')} ${filler}`,
      run_id: runId,
    })),
  };
}

async function waitStored(runId: string, expected: number): Promise<void> {
  await waitFor(`kv_store to hold ${expected} rows of ${runId}`, async () => ((await countRows(backends.postgresUrl, runId)) === expected ? true : undefined), STORE_WAIT_MS);
  await waitFor(
    `Qdrant to hold ${expected} points of ${runId}`,
    async () => ((await countPoints(backends.qdrantUrl, namespace, runId)) === expected ? true : undefined),
    STORE_WAIT_MS,
  );
}

function produceFailureLines(): Record<string, unknown>[] {
  return service.logLines().filter((line) => line.msg === 'kafka produce failed');
}

test('local broker keeps the default message size limit', async () => {
  const admin = testKafka(backends.kafkaBrokers).admin();
  await admin.connect();
  try {
    const described = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: topic, configNames: ['max.message.bytes'] }] });
    const entry = described.resources[0]?.configEntries.find((config) => config.configName === 'max.message.bytes');
    assert.equal(Number(entry?.configValue), KAFKA_DEFAULT_MESSAGE_MAX_BYTES);
  } finally {
    await admin.disconnect();
  }
});

test('bulk of 1000 items of 6000 characters is stored in full', async () => {
  const runId = `size-${randomUUID()}`;
  const body = bulkOf(runId, 1000, 6000);
  assert.ok(JSON.stringify(body).length > 5 * 1024 * 1024, 'the request is several Kafka messages large');

  const response = await postJson(`${service.url}/store_bulk`, body);
  assert.equal(response.status, 202, JSON.stringify(response.body).slice(0, 500));
  assert.equal(response.body.accepted, 1000);
  assert.deepEqual(response.body.rejected, []);

  await waitStored(runId, 1000);
  assert.equal((await readyz(service.url)).status, 200);
});

test('three concurrent large bulks all succeed', async () => {
  const runIds = [0, 1, 2].map(() => `size-${randomUUID()}`);
  const responses = await Promise.all(runIds.map((runId) => postJson(`${service.url}/store_bulk`, bulkOf(runId, 1000, 3000))));
  for (const [index, response] of responses.entries()) {
    assert.equal(response.status, 202, `bulk ${index}: ${JSON.stringify(response.body).slice(0, 500)}`);
    assert.equal(response.body.accepted, 1000, `bulk ${index}`);
  }
  for (const runId of runIds) await waitStored(runId, 1000);
  assert.equal((await readyz(service.url)).status, 200);
});

test('oversized item gets 413 and concurrent small requests succeed', async () => {
  const runId = `size-${randomUUID()}`;
  const bigId = `${runId}-big`;
  const big = postJson(`${service.url}/store`, { id: bigId, text: 'large', run_id: runId, payload: { blob: 'y'.repeat(2 * 1024 * 1024) } });
  const small = Array.from({ length: 30 }, (_, index) => postJson(`${service.url}/store`, { id: `${runId}-${index}`, text: `small ${index}`, run_id: runId }));
  const [bigResponse, ...smallResponses] = await Promise.all([big, ...small]);

  assert.equal(bigResponse?.status, 413, JSON.stringify(bigResponse?.body));
  assert.equal(bigResponse?.body.code, 'SOMA_ERR_ITEM_TOO_LARGE');
  assert.match(bigResponse?.body.message, new RegExp(`item 0: its Kafka message is \\d+ bytes and the limit is ${LIMIT} bytes`));
  assert.match(bigResponse?.body.message, /SOMA_KAFKA_MAX_MESSAGE_BYTES/);
  assert.equal(bigResponse?.body.errors?.[0]?.id, bigId);
  for (const [index, response] of smallResponses.entries()) {
    assert.equal(response.status, 202, `small request ${index}: ${JSON.stringify(response.body)}`);
  }

  await waitStored(runId, 30);
  const bigRows = await queryRows(backends.postgresUrl, 'SELECT id FROM public.kv_store WHERE id = $1', [bigId]);
  assert.equal(bigRows.length, 0);
  assert.equal((await readyz(service.url)).status, 200);
  assert.deepEqual(produceFailureLines(), []);
});

test('bulk rejects only its oversized item by index', async () => {
  const runId = `size-${randomUUID()}`;
  const items = [
    { id: `${runId}-0`, text: 'first', run_id: runId },
    { id: `${runId}-1`, text: 'too large', run_id: runId, payload: { blob: 'z'.repeat(LIMIT) } },
    { id: `${runId}-2`, text: 'last', run_id: runId },
  ];
  const response = await postJson(`${service.url}/store_bulk`, { items });
  assert.equal(response.status, 202, JSON.stringify(response.body).slice(0, 500));
  assert.deepEqual(response.body.ids, [`${runId}-0`, `${runId}-2`]);
  assert.equal(response.body.rejected.length, 1);
  assert.equal(response.body.rejected[0].index, 1);
  assert.equal(response.body.rejected[0].code, 'SOMA_ERR_ITEM_TOO_LARGE');

  await waitStored(runId, 2);
});

test('bulk of only oversized items gets 413', async () => {
  const runId = `size-${randomUUID()}`;
  const items = [0, 1].map((index) => ({ id: `${runId}-${index}`, text: 'too large', run_id: runId, payload: { blob: 'w'.repeat(LIMIT) } }));
  const response = await postJson(`${service.url}/store_bulk`, { items });
  assert.equal(response.status, 413, JSON.stringify(response.body).slice(0, 500));
  assert.equal(response.body.code, 'SOMA_ERR_ITEM_TOO_LARGE');
  assert.deepEqual(
    response.body.errors.map((entry: { index: number }) => entry.index),
    [0, 1],
  );
});

test('item just below the limit is stored', async () => {
  const runId = `size-${randomUUID()}`;
  const id = `${runId}-edge`;
  const response = await postJson(`${service.url}/store`, { id, text: 'near the limit', run_id: runId, payload: { blob: 'v'.repeat(LIMIT - 2_000) } });
  assert.equal(response.status, 202, JSON.stringify(response.body).slice(0, 500));

  await waitStored(runId, 1);
  assert.equal((await readyz(service.url)).status, 200);
  assert.deepEqual(produceFailureLines(), []);
});

test('message Kafka rejects fails only its own request', async (t) => {
  const smallTopic = uniqueName('size-small-topic');
  const admin = testKafka(backends.kafkaBrokers).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic: smallTopic, numPartitions: 3, configEntries: [{ name: 'max.message.bytes', value: '200000' }] }],
    });
  } finally {
    await admin.disconnect();
  }
  const apiOnly = await startServiceProcess({
    SOMA_ROLE: 'api',
    SOMA_KAFKA_BROKERS: backends.kafkaBrokers.join(','),
    SOMA_KAFKA_TOPIC: smallTopic,
    SOMA_KAFKA_DLQ_TOPIC: `${smallTopic}.dlq`,
  });
  try {
    const runId = `size-${randomUUID()}`;
    const rejectedId = `${runId}-big`;
    // Small requests before and after the large one, so that it can share a send with others.
    const postSmall = (index: number) => postJson(`${apiOnly.url}/store`, { id: `${runId}-${index}`, text: `small ${index}`, run_id: runId });
    const earlier = Array.from({ length: 10 }, (_, index) => postSmall(index));
    const big = postJson(`${apiOnly.url}/store`, { id: rejectedId, text: 'above the topic limit', run_id: runId, payload: { blob: 'u'.repeat(300_000) } });
    const later = Array.from({ length: 20 }, (_, index) => postSmall(10 + index));
    const [bigResponse, ...smallResponses] = await Promise.all([big, ...earlier, ...later]);

    assert.equal(bigResponse?.status, 500, JSON.stringify(bigResponse?.body));
    assert.equal(bigResponse?.body.code, 'SOMA_ERR_KAFKA_MESSAGE_REJECTED');
    assert.match(bigResponse?.body.message, /max\.message\.bytes/);
    for (const [index, response] of smallResponses.entries()) {
      assert.equal(response.status, 202, `small request ${index}: ${JSON.stringify(response.body)}`);
    }
    const ready = await readyz(apiOnly.url);
    assert.equal(ready.status, 200, JSON.stringify(ready.body));
    assert.equal(ready.body.checks.kafka?.ok, true);

    const after = await postJson(`${apiOnly.url}/store`, { id: `${runId}-after`, text: 'after the rejection', run_id: runId });
    assert.equal(after.status, 202, JSON.stringify(after.body));

    // Whether the rejected message shared a send with other requests depends on timing; the log shows which sends failed.
    const failedSends = apiOnly.logLines().filter((line) => line.msg === 'kafka produce failed');
    t.diagnostic(`failed sends (requests, messages): ${JSON.stringify(failedSends.map((line) => [line.requests, line.count]))}`);
  } finally {
    const code = await apiOnly.stop('SIGTERM');
    assert.equal(code, 0, `api exit code; output:\n${apiOnly.output().slice(-2000)}`);
  }
});
