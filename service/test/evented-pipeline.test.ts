/**
 * The evented pipeline end to end on real Kafka, Postgres and Qdrant, with
 * the service running as a real process (role all). The tests cover 1000
 * items of both shapes in chunks of 100, idempotent re-posts, metrics, and
 * the consumers' handling of events that break the contract.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import {
  backendEnv,
  countPoints,
  countRows,
  listPointIds,
  postJson,
  queryRows,
  testBackends,
  testKafka,
  totalLag,
  uniqueName,
  waitFor,
} from './support/backends.js';
import { startServiceProcess, type ServiceProcess } from './support/service-process.js';

const ITEMS = 1000;
const CHUNK = 100;

let service: ServiceProcess;
let backends: Awaited<ReturnType<typeof testBackends>>;
const topic = uniqueName('events');
const dlqTopic = `${topic}.dlq`;
const kvGroup = uniqueName('kv');
const vectorGroup = uniqueName('vec');
const namespace = uniqueName('ns');

before(async () => {
  backends = await testBackends();
  service = await startServiceProcess({
    SOMA_ROLE: 'all',
    ...backendEnv(backends),
    SOMA_KAFKA_TOPIC: topic,
    SOMA_KAFKA_DLQ_TOPIC: dlqTopic,
    SOMA_KAFKA_PARTITIONS: '3',
    SOMA_KV_GROUP: kvGroup,
    SOMA_VECTOR_GROUP: vectorGroup,
    SOMA_DEFAULT_NAMESPACE: namespace,
  });
});

after(async () => {
  const code = await service.stop('SIGTERM');
  assert.equal(code, 0, `service exit code; output:\n${service.output().slice(-2000)}`);
});

function itemsFor(runId: string): unknown[] {
  return Array.from({ length: ITEMS }, (_, index) =>
    index % 2 === 0
      ? { id: `${runId}-${index}`, text: `memory number ${index}`, run_id: runId }
      : { id: `${runId}-${index}`, coord: [index, index / 2, 1], payload: { run_id: runId, n: index }, type: 'semantic' },
  );
}

async function postInChunks(items: unknown[]): Promise<number[]> {
  const statuses: number[] = [];
  for (let start = 0; start < items.length; start += CHUNK) {
    const response = await postJson(`${service.url}/store_bulk`, { items: items.slice(start, start + CHUNK) });
    assert.equal(response.body.rejected?.length ?? 0, 0, JSON.stringify(response.body));
    statuses.push(response.status);
  }
  return statuses;
}

async function waitConsistent(runId: string, expected: number): Promise<void> {
  await waitFor(`kv_store to hold ${expected} rows of ${runId}`, async () => ((await countRows(backends.postgresUrl, runId)) === expected ? true : undefined));
  await waitFor(`Qdrant to hold ${expected} points of ${runId}`, async () =>
    (await countPoints(backends.qdrantUrl, namespace, runId)) === expected ? true : undefined,
  );
  for (const group of [kvGroup, vectorGroup]) {
    await waitFor(`lag of ${group} to reach 0`, async () => ((await totalLag(backends.kafkaBrokers, group, topic)) === 0 ? true : undefined));
  }
}

test('1000 items land once in both stores', async () => {
  const runId = uniqueName('run');
  const statuses = await postInChunks(itemsFor(runId));
  assert.deepEqual(statuses, Array(ITEMS / CHUNK).fill(202));
  await waitConsistent(runId, ITEMS);

  // The same ids again: still one row and one point per id.
  assert.deepEqual(await postInChunks(itemsFor(runId)), Array(ITEMS / CHUNK).fill(202));
  await waitConsistent(runId, ITEMS);
  assert.equal(await countRows(backends.postgresUrl, runId), ITEMS);
  assert.equal(await countPoints(backends.qdrantUrl, namespace, runId), ITEMS);
  const expectedIds = Array.from({ length: ITEMS }, (_, index) => `${runId}-${index}`).sort();
  const rows = await queryRows<{ id: string }>(backends.postgresUrl, 'SELECT id FROM public.kv_store WHERE run_id = $1', [runId]);
  assert.deepEqual(rows.map((row) => row.id).sort(), expectedIds);
  assert.deepEqual((await listPointIds(backends.qdrantUrl, namespace, runId)).sort(), expectedIds);

  const coordinate = await queryRows<{ value: any; content_hash: string }>(backends.postgresUrl, 'SELECT value, content_hash FROM public.kv_store WHERE id = $1', [`${runId}-1`]);
  assert.deepEqual(coordinate[0]?.value.payload, { run_id: runId, n: 1, coord: [1, 0.5, 1] });
  assert.match(coordinate[0]?.value.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$/);
});

test('/metrics shows the pipeline metrics with values', async () => {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  const expectations: RegExp[] = [
    /^soma_http_request_duration_seconds_count\{route="\/store_bulk",method="POST",status_code="202"\} [1-9]/m,
    /^soma_items_accepted_total\{mode="evented"\} [1-9]/m,
    /^soma_kafka_produce_duration_seconds_count [1-9]/m,
    new RegExp(`^soma_consumer_batch_size_count\\{group="${kvGroup}"\\} [1-9]`, 'm'),
    new RegExp(`^soma_consumer_batch_duration_seconds_count\\{group="${vectorGroup}"\\} [1-9]`, 'm'),
    /^soma_postgres_write_duration_seconds_count [1-9]/m,
    /^soma_qdrant_write_duration_seconds_count [1-9]/m,
    /^soma_postgres_write_failures_total 0/m,
    /^soma_qdrant_write_failures_total 0/m,
    new RegExp(`^soma_consumer_lag\\{group="${kvGroup}",topic="${topic}",partition="0"\\} 0`, 'm'),
    /^process_cpu_user_seconds_total /m,
  ];
  for (const expectation of expectations) assert.match(text, expectation);
});

test('contract violations go to the dead-letter topic and the consumers carry on', async () => {
  const runId = uniqueName('run');
  const event = (id: string, extra: Record<string, unknown> = {}) => ({
    event_id: randomUUID(),
    id,
    namespace,
    type: 'episodic',
    timestamp: '2025-09-27T12:34:56.789+00:00',
    payload: { text: id, run_id: runId },
    ...extra,
  });
  const { timestamp: _dropped, ...withoutTimestamp } = event(`${runId}-no-ts`);
  const producer = testKafka(backends.kafkaBrokers).producer();
  await producer.connect();
  await producer.send({
    topic,
    messages: [
      { key: 'bad', value: JSON.stringify(withoutTimestamp) },
      { key: 'bad', value: JSON.stringify(event(`${runId}-extra`, { colour: 'red' })) },
      { key: 'bad', value: 'this is not json' },
      { key: 'good', value: JSON.stringify(event(`${runId}-epoch-s`, { timestamp: 1758976496 })) },
      { key: 'good', value: JSON.stringify(event(`${runId}-epoch-ms`, { timestamp: 1758976496789 })) },
      // The same id twice in one batch: one row, the later event wins.
      { key: 'dup', value: JSON.stringify(event(`${runId}-dup`, { payload: { text: 'first', run_id: runId } })) },
      { key: 'dup', value: JSON.stringify(event(`${runId}-dup`, { payload: { text: 'second', run_id: runId } })) },
    ],
  });
  await producer.disconnect();

  await waitFor('valid events in kv_store', async () => ((await countRows(backends.postgresUrl, runId)) === 3 ? true : undefined));
  await waitFor('valid events in Qdrant', async () => ((await countPoints(backends.qdrantUrl, namespace, runId)) === 3 ? true : undefined));
  const rows = await queryRows<{ id: string; value: any }>(backends.postgresUrl, 'SELECT id, value FROM public.kv_store WHERE run_id = $1 ORDER BY id', [runId]);
  assert.deepEqual(
    rows.map((row) => [row.id, row.value.timestamp, row.value.payload.text]),
    [
      [`${runId}-dup`, '2025-09-27T12:34:56.789+00:00', 'second'],
      [`${runId}-epoch-ms`, '2025-09-27T12:34:56.789+00:00', `${runId}-epoch-ms`],
      [`${runId}-epoch-s`, '2025-09-27T12:34:56.000+00:00', `${runId}-epoch-s`],
    ],
  );

  // Each of the two groups dead-letters the three bad messages.
  const consumer = testKafka(backends.kafkaBrokers).consumer({ groupId: uniqueName('dlq-reader') });
  const letters: { reason: string; group: string; detail: string }[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic: dlqTopic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void letters.push(JSON.parse(message.value?.toString() ?? '{}')) });
  await waitFor('six dead letters', async () => (letters.length >= 6 ? true : undefined));
  await consumer.disconnect();

  const summary = letters.map((letter) => `${letter.group}:${letter.reason}`).sort();
  assert.deepEqual(summary, [
    `${kvGroup}:invalid_json`,
    `${kvGroup}:schema_violation`,
    `${kvGroup}:schema_violation`,
    `${vectorGroup}:invalid_json`,
    `${vectorGroup}:schema_violation`,
    `${vectorGroup}:schema_violation`,
  ]);
  const details = letters.map((letter) => letter.detail).join('\n');
  assert.match(details, /field timestamp is missing/);
  assert.match(details, /unknown field colour/);

  const metrics = await (await fetch(`${service.url}/metrics`)).text();
  assert.match(metrics, /^soma_dead_letter_total\{reason="schema_violation"\} 4/m);
  assert.match(metrics, /^soma_dead_letter_total\{reason="invalid_json"\} 2/m);
});
