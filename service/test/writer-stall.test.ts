/**
 * Writers stuck on failing store writes, with real service processes on real
 * Kafka, Postgres and the local target's Qdrant. While a writer's writes keep
 * failing, /readyz returns 503 naming the writer, the store, the collection
 * or namespace, the time stuck and the last error. The writer keeps retrying
 * and dead-letters nothing, and once writes succeed again every item arrives
 * and /readyz returns 200.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { STALL_THRESHOLD_MS } from '../src/consumers/batch-consumer.js';
import {
  backendEnv,
  countPoints,
  countRows,
  postJson,
  queryRows,
  type ReadyBody,
  readyz,
  testBackends,
  topicMessageCount,
  uniqueName,
  waitFor,
} from './support/backends.js';
import { INJECTED_ERROR, startHttpFaultProxy } from './support/http-fault-proxy.js';
import { startServiceProcess, type ServiceProcess } from './support/service-process.js';

const ITEMS = 20;
/** Upper bound for a stall to show in /readyz: the threshold plus one maximum retry delay and slack for a busy machine. */
const STALL_VISIBLE_TIMEOUT_MS = STALL_THRESHOLD_MS + 45_000;

interface Pipeline {
  service: ServiceProcess;
  topic: string;
  dlqTopic: string;
  group: string;
  namespace: string;
}

/** Starts an api with one writer (`kv` or `vector`) in one process, on a topic, group and namespace of its own. */
async function startPipeline(consumers: 'kv' | 'vector', stores: { postgresUrl: string; qdrantUrl: string }): Promise<Pipeline> {
  const backends = await testBackends();
  const topic = uniqueName('events');
  const dlqTopic = `${topic}.dlq`;
  const group = uniqueName(consumers);
  const namespace = uniqueName('ns');
  const service = await startServiceProcess({
    SOMA_ROLE: 'all',
    SOMA_CONSUMERS: consumers,
    SOMA_KAFKA_BROKERS: backends.kafkaBrokers.join(','),
    SOMA_POSTGRES_URL: stores.postgresUrl,
    SOMA_QDRANT_URL: stores.qdrantUrl,
    SOMA_KAFKA_TOPIC: topic,
    SOMA_KAFKA_DLQ_TOPIC: dlqTopic,
    SOMA_KAFKA_PARTITIONS: '2',
    [consumers === 'kv' ? 'SOMA_KV_GROUP' : 'SOMA_VECTOR_GROUP']: group,
    SOMA_DEFAULT_NAMESPACE: namespace,
  });
  return { service, topic, dlqTopic, group, namespace };
}

async function storeItems(url: string, runId: string, count: number): Promise<void> {
  const items = Array.from({ length: count }, (_, i) => ({ id: `${runId}-${i}`, text: `stalled item ${i}`, run_id: runId }));
  const response = await postJson(`${url}/store_bulk`, { items });
  assert.equal(response.status, 202, JSON.stringify(response.body));
  assert.equal(response.body.accepted, count);
}

async function waitStalled(url: string, dependency: 'postgres' | 'qdrant'): Promise<ReadyBody> {
  return waitFor(
    `/readyz to report the ${dependency} writer stalled`,
    async () => {
      const { status, body } = await readyz(url);
      return status === 503 && /has failed to write/.test(body.checks[dependency]?.detail ?? '') ? body : undefined;
    },
    STALL_VISIBLE_TIMEOUT_MS,
  );
}

async function waitReady(url: string): Promise<ReadyBody> {
  return waitFor('/readyz to answer 200', async () => {
    const { status, body } = await readyz(url);
    return status === 200 ? body : undefined;
  });
}

test('vector-indexer failing upserts: 503 naming it, then recovery', async () => {
  const backends = await testBackends();
  // Upserts (PUT /collections/<name>/points) fail; collection creation, indexes and reads pass.
  const proxy = await startHttpFaultProxy(backends.qdrantUrl, (method, path) => method === 'PUT' && /^\/collections\/[^/]+\/points(\?|$)/.test(path));
  const pipeline = await startPipeline('vector', { postgresUrl: backends.postgresUrl, qdrantUrl: proxy.url });
  try {
    const runId = uniqueName('run');
    await storeItems(pipeline.service.url, runId, ITEMS);

    const stalled = await waitStalled(pipeline.service.url, 'qdrant');
    assert.equal(stalled.status, 'not_ready');
    assert.equal(stalled.checks.kafka?.ok, true, 'only the stalled store check fails');
    const detail = stalled.checks.qdrant?.detail ?? '';
    assert.match(detail, new RegExp(`^vector-indexer \\(consumer group ${pipeline.group}\\) has failed to write to Qdrant collection ${pipeline.namespace} for \\d+ s `));
    assert.match(detail, /\(partition \d+( and 1 more partition)?, \d+ failed attempts\)/);
    assert.ok(detail.includes(`last error: Qdrant answered HTTP 500: ${INJECTED_ERROR}`), detail);
    assert.match(detail, /it keeps retrying and skips no event$/);
    const seconds = Number(/ for (\d+) s /.exec(detail)?.[1]);
    assert.ok(seconds >= STALL_THRESHOLD_MS / 1000, `a stall is reported after the threshold, got ${seconds} s`);
    assert.equal(await countPoints(backends.qdrantUrl, pipeline.namespace, runId), 0, 'no upsert got through the proxy');
    // The log line follows at the next failed attempt, up to one retry delay after the threshold.
    const stallLog = await waitFor('the stall log line', async () => pipeline.service.logLines().find((line) => String(line.msg).startsWith('writer stalled')));
    assert.equal(stallLog.writer, 'vector-indexer');
    assert.equal(stallLog.target, `collection ${pipeline.namespace}`);

    proxy.failing = false;
    await waitFor(`all ${ITEMS} items in Qdrant`, async () => ((await countPoints(backends.qdrantUrl, pipeline.namespace, runId)) === ITEMS ? true : undefined), 60_000);
    const ready = await waitReady(pipeline.service.url);
    assert.equal(ready.checks.qdrant?.ok, true);
    assert.ok(proxy.failed >= 2, `the proxy failed ${proxy.failed} upserts`);
    assert.equal(await topicMessageCount(backends.kafkaBrokers, pipeline.dlqTopic), 0, 'a store outage dead-letters nothing');
    assert.ok(pipeline.service.logLines().some((line) => line.msg === 'writer recovered'), 'the recovery is logged');
  } finally {
    await pipeline.service.stop('SIGTERM', 15_000);
    await proxy.close();
  }
});

/** Creates an empty database of its own and returns its URL, so the test can add a trigger to its kv_store. */
async function createDatabase(postgresUrl: string): Promise<string> {
  const name = uniqueName('soma_stall');
  await queryRows(postgresUrl, `CREATE DATABASE ${name}`, []);
  const url = new URL(postgresUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function execute(postgresUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

// SQLSTATE 55000 (object_not_in_prerequisite_state) is not a data error, so the kv-writer retries instead of dead-lettering.
const CLOSE_WRITES_SQL = `
  CREATE TABLE write_gate (open boolean NOT NULL);
  INSERT INTO write_gate VALUES (false);
  CREATE FUNCTION reject_closed_writes() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF NOT (SELECT open FROM write_gate) THEN
      RAISE EXCEPTION 'kv_store writes are closed by the writer-stall test' USING ERRCODE = '55000';
    END IF;
    RETURN NEW;
  END $$;
  CREATE TRIGGER reject_closed_writes BEFORE INSERT OR UPDATE ON public.kv_store
    FOR EACH ROW EXECUTE FUNCTION reject_closed_writes();
`;

test('kv-writer failing inserts: 503 naming it, then recovery', async () => {
  const backends = await testBackends();
  const postgresUrl = await createDatabase(backends.postgresUrl);
  // The service creates public.kv_store before it is ready; the trigger then rejects every row.
  const pipeline = await startPipeline('kv', { postgresUrl, qdrantUrl: backends.qdrantUrl });
  try {
    await execute(postgresUrl, CLOSE_WRITES_SQL);
    const runId = uniqueName('run');
    await storeItems(pipeline.service.url, runId, ITEMS);

    const stalled = await waitStalled(pipeline.service.url, 'postgres');
    assert.equal(stalled.status, 'not_ready');
    const detail = stalled.checks.postgres?.detail ?? '';
    assert.match(detail, new RegExp(`^kv-writer \\(consumer group ${pipeline.group}\\) has failed to write to Postgres table public\\.kv_store \\(namespace ${pipeline.namespace}\\) for \\d+ s `));
    assert.ok(detail.includes('last error: kv_store writes are closed by the writer-stall test'), detail);
    assert.doesNotMatch(detail, /:\/\/[^/\s]*@/, 'the detail contains no URL with credentials');
    assert.ok(!detail.includes(postgresUrl), 'the detail does not quote the connection string');
    assert.equal(await countRows(postgresUrl, runId), 0);

    await execute(postgresUrl, 'UPDATE write_gate SET open = true');
    await waitFor(`all ${ITEMS} items in kv_store`, async () => ((await countRows(postgresUrl, runId)) === ITEMS ? true : undefined), 60_000);
    const ready = await waitReady(pipeline.service.url);
    assert.equal(ready.checks.postgres?.ok, true);
    assert.equal(await topicMessageCount(backends.kafkaBrokers, pipeline.dlqTopic), 0, 'a store outage dead-letters nothing');
  } finally {
    await pipeline.service.stop('SIGTERM', 15_000);
  }
});

test('128-character namespace reaches Qdrant and Postgres', async () => {
  const backends = await testBackends();
  const topic = uniqueName('events');
  const unique = uniqueName('ns');
  const namespace = unique + 'n'.repeat(128 - unique.length);
  const defaultNamespace = uniqueName('ns');
  const service = await startServiceProcess({
    SOMA_ROLE: 'all',
    ...backendEnv(backends),
    SOMA_KAFKA_TOPIC: topic,
    SOMA_KAFKA_DLQ_TOPIC: `${topic}.dlq`,
    SOMA_KAFKA_PARTITIONS: '2',
    SOMA_KV_GROUP: uniqueName('kv'),
    SOMA_VECTOR_GROUP: uniqueName('vec'),
    SOMA_DEFAULT_NAMESPACE: defaultNamespace,
  });
  try {
    assert.equal(namespace.length, 128);
    const runId = uniqueName('run');
    const first = await postJson(`${service.url}/store`, { id: `${runId}-long`, run_id: runId, namespace, text: 't' });
    assert.equal(first.status, 202, JSON.stringify(first.body));
    // Items after it, in the default namespace, must not be held up behind it.
    await storeItems(service.url, runId, ITEMS);

    await waitFor('the item in the 128-character collection', async () => ((await countPoints(backends.qdrantUrl, namespace, runId)) === 1 ? true : undefined), 60_000);
    await waitFor(`all ${ITEMS} later items in Qdrant`, async () => ((await countPoints(backends.qdrantUrl, defaultNamespace, runId)) === ITEMS ? true : undefined), 60_000);
    await waitFor(`all ${ITEMS + 1} rows in kv_store`, async () => ((await countRows(backends.postgresUrl, runId)) === ITEMS + 1 ? true : undefined), 60_000);
    const ready = await readyz(service.url);
    assert.equal(ready.status, 200, JSON.stringify(ready.body));
  } finally {
    await service.stop('SIGTERM', 15_000);
    await fetch(`${backends.qdrantUrl}/collections/${namespace}`, { method: 'DELETE' }).catch(() => undefined);
  }
});
