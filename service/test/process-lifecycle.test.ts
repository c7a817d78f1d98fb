/**
 * Service processes that die, drain or start together, on real Kafka,
 * Postgres and Qdrant: both writers killed with SIGKILL while a batch write
 * is in flight, SIGTERM while requests are in flight, and five instances
 * creating the topics, the kv_store table and the collection at once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
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
  waitForZeroLag,
} from './support/backends.js';
import { startServiceProcess, type ServiceProcess } from './support/service-process.js';
import { startTcpProxy } from './support/tcp-proxy.js';

interface Pipeline {
  env: Record<string, string>;
  topic: string;
  namespace: string;
  groups: string[];
}

async function pipelineEnv(): Promise<Pipeline> {
  const backends = await testBackends();
  const topic = uniqueName('events');
  const namespace = uniqueName('ns');
  const kvGroup = uniqueName('kv');
  const vectorGroup = uniqueName('vec');
  return {
    topic,
    namespace,
    groups: [kvGroup, vectorGroup],
    env: {
      ...backendEnv(backends),
      SOMA_KAFKA_TOPIC: topic,
      SOMA_KAFKA_DLQ_TOPIC: `${topic}.dlq`,
      SOMA_KAFKA_PARTITIONS: '3',
      SOMA_KV_GROUP: kvGroup,
      SOMA_VECTOR_GROUP: vectorGroup,
      SOMA_DEFAULT_NAMESPACE: namespace,
    },
  };
}

function chunk(runId: string, start: number, size: number): unknown[] {
  return Array.from({ length: size }, (_, offset) => ({ id: `${runId}-${start + offset}`, text: `item ${start + offset}`, run_id: runId }));
}

/** Builds `size` items from index `start`: flat items at even indexes, coordinate items at odd ones. */
function mixedChunk(runId: string, start: number, size: number): { id: string }[] {
  return Array.from({ length: size }, (_, offset) => {
    const index = start + offset;
    const id = `${runId}-${index}`;
    return index % 2 === 0
      ? { id, text: `item ${index}`, run_id: runId }
      : { id, coord: [index, 1, 2], payload: { run_id: runId, n: index }, type: 'semantic' };
  });
}

async function postChunks(apiUrl: string, runId: string, from: number, to: number): Promise<string[]> {
  const ids: string[] = [];
  for (let start = from; start < to; start += 100) {
    const items = mixedChunk(runId, start, 100);
    const response = await postJson(`${apiUrl}/store_bulk`, { items });
    assert.equal(response.status, 202, JSON.stringify(response.body).slice(0, 500));
    assert.equal(response.body.accepted, 100);
    ids.push(...items.map((item) => item.id));
  }
  return ids;
}

/** Splits a URL into host name and port, so a proxy can stand in front of it. */
function hostAndPort(url: string): { hostname: string; port: number } {
  const parsed = new URL(url);
  return { hostname: parsed.hostname, port: Number(parsed.port) };
}

function withPort(url: string, port: number): string {
  const parsed = new URL(url);
  parsed.port = String(port);
  return parsed.toString().replace(/\/$/, '');
}

test('consumers killed with SIGKILL mid-batch lose and duplicate nothing', async () => {
  const pipeline = await pipelineEnv();
  const backends = await testBackends();
  const [kvGroup, vectorGroup] = pipeline.groups as [string, string];
  // Each writer reaches its store through a proxy that can hold its requests,
  // so a batch write is provably in flight when the process is killed.
  const postgres = hostAndPort(backends.postgresUrl);
  const qdrant = hostAndPort(backends.qdrantUrl);
  const postgresProxy = await startTcpProxy(postgres.hostname, postgres.port);
  const qdrantProxy = await startTcpProxy(qdrant.hostname, qdrant.port);
  const consumerEnv = {
    ...pipeline.env,
    SOMA_ROLE: 'consumer',
    SOMA_POSTGRES_URL: withPort(backends.postgresUrl, postgresProxy.port),
    SOMA_QDRANT_URL: withPort(backends.qdrantUrl, qdrantProxy.port),
  };
  const processes: ServiceProcess[] = [];
  try {
    const api = await startServiceProcess({ ...pipeline.env, SOMA_ROLE: 'api' });
    processes.push(api);
    const kvWriter = await startServiceProcess({ ...consumerEnv, SOMA_CONSUMERS: 'kv' });
    const vectorIndexer = await startServiceProcess({ ...consumerEnv, SOMA_CONSUMERS: 'vector' });
    processes.push(kvWriter, vectorIndexer);

    const runId = uniqueName('run');
    const sent = await postChunks(api.url, runId, 0, 300);
    await waitFor('the first rows of the run', async () => ((await countRows(backends.postgresUrl, runId)) > 0 ? true : undefined), 60_000);
    await waitFor('the first points of the run', async () =>
      (await countPoints(backends.qdrantUrl, pipeline.namespace, runId)) > 0 ? true : undefined, 60_000,
    );

    postgresProxy.hold();
    qdrantProxy.hold();
    sent.push(...(await postChunks(api.url, runId, 300, 1000)));
    // The prepared upsert is bound by name, and Qdrant upserts are PUT .../points.
    await waitFor('a kv_store upsert held in flight', async () => (postgresProxy.heldText().includes('soma_kv_store_upsert') ? true : undefined), 60_000);
    await waitFor('a Qdrant upsert held in flight', async () =>
      qdrantProxy.heldText().includes(`PUT /collections/${pipeline.namespace}/points`) ? true : undefined, 60_000,
    );

    const kvLagAtKill = await totalLag(backends.kafkaBrokers, kvGroup, pipeline.topic);
    const vectorLagAtKill = await totalLag(backends.kafkaBrokers, vectorGroup, pipeline.topic);
    await Promise.all([kvWriter.stop('SIGKILL'), vectorIndexer.stop('SIGKILL')]);
    assert.ok(kvLagAtKill > 0, `lag of ${kvGroup} at kill time: ${kvLagAtKill}`);
    assert.ok(vectorLagAtKill > 0, `lag of ${vectorGroup} at kill time: ${vectorLagAtKill}`);
    assert.equal(kvWriter.child.signalCode, 'SIGKILL');
    assert.equal(vectorIndexer.child.signalCode, 'SIGKILL');
    postgresProxy.release();
    qdrantProxy.release();

    processes.push(await startServiceProcess({ ...consumerEnv, SOMA_CONSUMERS: 'kv' }));
    processes.push(await startServiceProcess({ ...consumerEnv, SOMA_CONSUMERS: 'vector' }));
    await waitForZeroLag(backends.kafkaBrokers, pipeline.groups, pipeline.topic, 120_000);

    // Lag 0 means every offset was committed, which happens only after the write.
    const expected = [...sent].sort();
    assert.equal(new Set(sent).size, 1000);
    const rows = await queryRows<{ id: string }>(backends.postgresUrl, 'SELECT id FROM public.kv_store WHERE run_id = $1', [runId]);
    assert.equal(rows.length, 1000);
    assert.deepEqual(rows.map((row) => row.id).sort(), expected);
    assert.equal(await countPoints(backends.qdrantUrl, pipeline.namespace, runId), 1000);
    assert.deepEqual((await listPointIds(backends.qdrantUrl, pipeline.namespace, runId)).sort(), expected);
  } finally {
    postgresProxy.release();
    qdrantProxy.release();
    await Promise.all(processes.map((child) => child.stop('SIGTERM')));
    await postgresProxy.stop();
    await qdrantProxy.stop();
  }
});

test('SIGTERM lets in-flight requests finish and loses nothing acknowledged', async () => {
  const pipeline = await pipelineEnv();
  const backends = await testBackends();
  const consumers = await startServiceProcess({ ...pipeline.env, SOMA_ROLE: 'consumer' });
  const api = await startServiceProcess({ ...pipeline.env, SOMA_ROLE: 'api' });
  try {
    const runId = uniqueName('run');
    const requests = Array.from({ length: 30 }, (_, index) =>
      postJson(`${api.url}/store_bulk`, { items: chunk(runId, index * 100, 100) }).then(
        (response) => ({ status: response.status, ids: (response.body.ids ?? []) as string[], error: undefined as string | undefined }),
        (error: Error & { cause?: { code?: string } }) => ({ status: 0, ids: [] as string[], error: error.cause?.code ?? error.message }),
      ),
    );
    await Promise.race(requests);
    const exitCode = api.stop('SIGTERM');
    const results = await Promise.all(requests);
    assert.equal(await exitCode, 0, api.output().slice(-2000));

    const acknowledged = results.flatMap((result) => (result.status === 202 ? result.ids : []));
    assert.ok(acknowledged.length >= 100, 'at least the first request was acknowledged');
    for (const result of results) {
      // After the listener closes, new connections are refused; a request is never cut off mid-way.
      assert.ok(result.status === 202 || result.status === 503 || result.error === 'ECONNREFUSED', JSON.stringify(result));
    }
    assert.ok(api.logLines().some((line) => line.msg === 'drained, exiting'));

    await waitFor(`${acknowledged.length} acknowledged rows`, async () =>
      (await countRows(backends.postgresUrl, runId)) === acknowledged.length ? true : undefined, 60_000,
    );
    const stored = await queryRows<{ id: string }>(backends.postgresUrl, 'SELECT id FROM public.kv_store WHERE id = ANY($1)', [acknowledged]);
    assert.equal(stored.length, acknowledged.length);
  } finally {
    await api.stop('SIGKILL');
    assert.equal(await consumers.stop('SIGTERM'), 0);
  }
});

/** Creates an empty database of its own and returns its URL, so schema creation starts from nothing. */
async function createDatabase(postgresUrl: string, name: string): Promise<string> {
  await queryRows(postgresUrl, `CREATE DATABASE ${name}`, []);
  const url = new URL(postgresUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

test('five instances starting at once create one topic, table and collection', async () => {
  const pipeline = await pipelineEnv();
  const backends = await testBackends();
  const database = uniqueName('soma_schema');
  const postgresUrl = await createDatabase(backends.postgresUrl, database);
  // Each instance runs role consumer with both writers, so each creates the topics, public.kv_store with its indexes, and the collection.
  const instances = await Promise.all(
    Array.from({ length: 5 }, () => startServiceProcess({ ...pipeline.env, SOMA_POSTGRES_URL: postgresUrl, SOMA_ROLE: 'consumer', SOMA_CONSUMERS: 'kv,vector' })),
  );
  try {
    for (const instance of instances) {
      const ready = (await (await fetch(`${instance.url}/readyz`)).json()) as { status: string; checks: Record<string, { ok: boolean }> };
      assert.equal(ready.status, 'ready');
      assert.deepEqual(Object.keys(ready.checks).sort(), ['kafka', 'postgres', 'qdrant']);
      // Errors of every component count, kafkajs included: losing a creation race is expected and logged below error.
      const errors = instance.logLines().filter((line) => Number(line.level) >= 50);
      assert.deepEqual(errors, []);
      assert.deepEqual(instance.logLines().filter((line) => line.msg === 'postgres schema creation failed'), []);
      assert.equal(instance.logLines().filter((line) => line.msg === 'postgres schema ready').length, 1);
    }

    const tables = await queryRows<{ schemaname: string; tablename: string }>(postgresUrl, 'SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN ($1, $2)', ['pg_catalog', 'information_schema']);
    assert.deepEqual(tables, [{ schemaname: 'public', tablename: 'kv_store' }]);
    const indexes = await queryRows<{ indexname: string }>(postgresUrl, 'SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 ORDER BY indexname', ['public', 'kv_store']);
    assert.deepEqual(indexes.map((index) => index.indexname), ['kv_store_namespace_idx', 'kv_store_pkey', 'kv_store_run_id_idx']);

    const collections = (await (await fetch(`${backends.qdrantUrl}/collections`)).json()) as { result: { collections: { name: string }[] } };
    assert.equal(collections.result.collections.filter((entry) => entry.name === pipeline.namespace).length, 1);
    const info = (await (await fetch(`${backends.qdrantUrl}/collections/${pipeline.namespace}`)).json()) as {
      result: { config: { params: { vectors: { size: number } } } };
    };
    assert.equal(info.result.config.params.vectors.size, 128);

    const admin = testKafka(backends.kafkaBrokers).admin();
    await admin.connect();
    const metadata = await admin.fetchTopicMetadata({ topics: [pipeline.topic] });
    await admin.disconnect();
    assert.equal(metadata.topics[0]?.partitions.length, 3);
  } finally {
    const codes = await Promise.all(instances.map((instance) => instance.stop('SIGTERM')));
    assert.deepEqual(codes, [0, 0, 0, 0, 0]);
    await queryRows(backends.postgresUrl, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`, []);
  }
});
