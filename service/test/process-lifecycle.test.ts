/**
 * Service processes that die, drain or start together, on real Kafka,
 * Postgres and Qdrant: a consumer killed with SIGKILL mid-run, SIGTERM while
 * requests are in flight, and five instances starting at once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countPoints, countRows, postJson, queryRows, testBackends, testKafka, totalLag, uniqueName, waitFor } from './support/backends.js';
import { startServiceProcess, type ServiceProcess } from './support/service-process.js';

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
      SOMA_KAFKA_BROKERS: backends.kafkaBrokers.join(','),
      SOMA_POSTGRES_URL: backends.postgresUrl,
      SOMA_QDRANT_URL: backends.qdrantUrl,
      SOMA_KAFKA_TOPIC: topic,
      SOMA_KAFKA_DLQ_TOPIC: `${topic}.dlq`,
      SOMA_KAFKA_PARTITIONS: '3',
      SOMA_KV_GROUP: kvGroup,
      SOMA_VECTOR_GROUP: vectorGroup,
      SOMA_DEFAULT_NAMESPACE: namespace,
    },
  };
}

async function waitConsistent(pipeline: Pipeline, runId: string, expected: number): Promise<void> {
  const backends = await testBackends();
  await waitFor(`${expected} rows of ${runId}`, async () => ((await countRows(backends.postgresUrl, runId)) === expected ? true : undefined), 60_000);
  await waitFor(`${expected} points of ${runId}`, async () =>
    (await countPoints(backends.qdrantUrl, pipeline.namespace, runId)) === expected ? true : undefined, 60_000,
  );
  for (const group of pipeline.groups) {
    await waitFor(`lag of ${group} to reach 0`, async () => ((await totalLag(backends.kafkaBrokers, group, pipeline.topic)) === 0 ? true : undefined), 60_000);
  }
}

function chunk(runId: string, start: number, size: number): unknown[] {
  return Array.from({ length: size }, (_, offset) => ({ id: `${runId}-${start + offset}`, text: `item ${start + offset}`, run_id: runId }));
}

test('a consumer killed with SIGKILL mid-run loses and duplicates nothing', async () => {
  const pipeline = await pipelineEnv();
  const backends = await testBackends();
  const processes: ServiceProcess[] = [];
  try {
    const api = await startServiceProcess({ ...pipeline.env, SOMA_ROLE: 'api' });
    processes.push(api);
    const consumerEnv = { ...pipeline.env, SOMA_ROLE: 'consumer' };
    let kvWriter = await startServiceProcess({ ...consumerEnv, SOMA_CONSUMERS: 'kv' });
    processes.push(kvWriter, await startServiceProcess({ ...consumerEnv, SOMA_CONSUMERS: 'vector' }));

    const runId = uniqueName('run');
    for (let index = 0; index < 10; index++) {
      if (index === 4) {
        await kvWriter.stop('SIGKILL');
      }
      if (index === 7) {
        kvWriter = await startServiceProcess({ ...consumerEnv, SOMA_CONSUMERS: 'kv' });
        processes.push(kvWriter);
      }
      const response = await postJson(`${api.url}/store_bulk`, { items: chunk(runId, index * 100, 100) });
      assert.equal(response.status, 202);
    }

    await waitConsistent(pipeline, runId, 1000);
    const ids = await queryRows<{ count: string }>(backends.postgresUrl, 'SELECT count(DISTINCT id) AS count FROM public.kv_store WHERE run_id = $1', [runId]);
    assert.equal(Number(ids[0]?.count), 1000);
  } finally {
    await Promise.all(processes.map((child) => child.stop('SIGTERM')));
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

test('five instances starting at once create one topic and one collection without errors', async () => {
  const pipeline = await pipelineEnv();
  const backends = await testBackends();
  const instances = await Promise.all(
    Array.from({ length: 5 }, () => startServiceProcess({ ...pipeline.env, SOMA_ROLE: 'consumer', SOMA_CONSUMERS: 'vector' })),
  );
  try {
    for (const instance of instances) {
      const ready = (await (await fetch(`${instance.url}/readyz`)).json()) as { status: string };
      assert.equal(ready.status, 'ready');
      const serviceErrors = instance
        .logLines()
        .filter((line) => Number(line.level) >= 50 && line.component !== 'kafkajs');
      assert.deepEqual(serviceErrors, []);
    }

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
  }
});
