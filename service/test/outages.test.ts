/**
 * Dependency outages: while Kafka (evented mode) or Postgres or Qdrant
 * (direct mode) is unreachable, /readyz returns 503 naming it and store
 * requests return 503, never 2xx; when it returns, the service recovers
 * without a restart. Kafka runs as a broker of this test's own; Postgres and
 * Qdrant are cut off through a TCP proxy.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startDirectApp } from './support/apps.js';
import { countPoints, countRows, postJson, readyz, testBackends, uniqueName, waitFor, type ReadyBody } from './support/backends.js';
import { startTestBroker } from './support/kafka-broker.js';
import { startServiceProcess } from './support/service-process.js';
import { startTcpProxy } from './support/tcp-proxy.js';

async function waitNotReady(url: string, dependency: string): Promise<ReadyBody> {
  return waitFor(`/readyz to report ${dependency} down`, async () => {
    const { status, body } = await readyz(url);
    return status === 503 && body.checks[dependency]?.ok === false ? body : undefined;
  });
}

async function waitReady(url: string): Promise<void> {
  await waitFor('/readyz to report ready', async () => ((await readyz(url)).status === 200 ? true : undefined), 60_000);
}

const UNAVAILABLE_CODES = ['SOMA_ERR_DEPENDENCY_UNAVAILABLE', 'SOMA_ERR_KAFKA_PRODUCE_FAILED', 'SOMA_ERR_STORE_WRITE_FAILED'];

test('Kafka down: readyz and store requests answer 503, then recover without restart', async () => {
  const backends = await testBackends();
  const broker = await startTestBroker();
  const namespace = uniqueName('ns');
  const topic = uniqueName('events');
  const service = await startServiceProcess({
    SOMA_ROLE: 'all',
    SOMA_KAFKA_BROKERS: broker.address,
    SOMA_POSTGRES_URL: backends.postgresUrl,
    SOMA_QDRANT_URL: backends.qdrantUrl,
    SOMA_KAFKA_TOPIC: topic,
    SOMA_KAFKA_DLQ_TOPIC: `${topic}.dlq`,
    SOMA_KAFKA_PARTITIONS: '2',
    SOMA_DEFAULT_NAMESPACE: namespace,
  });
  try {
    const runId = uniqueName('run');
    const before = await postJson(`${service.url}/store_bulk`, { items: [{ id: `${runId}-a`, text: 'before', run_id: runId }] });
    assert.equal(before.status, 202);

    await broker.stop();
    const down = await waitNotReady(service.url, 'kafka');
    assert.equal(down.status, 'not_ready');
    assert.match(down.checks.kafka?.detail ?? '', /kafka at .* is unreachable/);
    for (let attempt = 0; attempt < 3; attempt++) {
      const during = await postJson(`${service.url}/store_bulk`, { items: [{ id: `${runId}-x${attempt}`, text: 'during', run_id: runId }] });
      assert.equal(during.status, 503);
      assert.ok(UNAVAILABLE_CODES.includes(during.body.code), during.body.code);
      assert.match(during.body.message, /kafka|Kafka/);
    }

    await broker.start();
    await waitReady(service.url);
    const afterwards = await postJson(`${service.url}/store_bulk`, { items: [{ id: `${runId}-b`, text: 'after', run_id: runId }] });
    assert.equal(afterwards.status, 202);
    await waitFor('both acknowledged items in kv_store', async () => ((await countRows(backends.postgresUrl, runId)) === 2 ? true : undefined), 60_000);
    await waitFor('both acknowledged items in Qdrant', async () => ((await countPoints(backends.qdrantUrl, namespace, runId)) === 2 ? true : undefined), 60_000);
  } finally {
    await service.stop('SIGTERM', 10_000);
    await broker.remove();
  }
});

for (const dependency of ['postgres', 'qdrant'] as const) {
  test(`${dependency} down in direct mode: 503 naming it, then recovery`, async () => {
    const backends = await testBackends();
    const target = new URL(dependency === 'postgres' ? backends.postgresUrl : backends.qdrantUrl);
    const proxy = await startTcpProxy(target.hostname, Number(target.port));
    const proxied = new URL(target);
    proxied.port = String(proxy.port);
    const direct = await startDirectApp(backends, {}, dependency === 'postgres' ? { postgresUrl: proxied.toString() } : { qdrantUrl: proxied.toString().replace(/\/$/, '') });
    try {
      const runId = uniqueName('run');
      const before = await postJson(`${direct.url}/store`, { id: `${runId}-a`, text: 'before', run_id: runId });
      assert.equal(before.status, 201);

      await proxy.stop();
      const down = await waitNotReady(direct.url, dependency);
      assert.equal(down.status, 'not_ready');
      const during = await postJson(`${direct.url}/store`, { id: `${runId}-x`, text: 'during', run_id: runId });
      assert.equal(during.status, 503);
      assert.ok(UNAVAILABLE_CODES.includes(during.body.code), during.body.code);
      assert.match(during.body.message, new RegExp(dependency));

      await proxy.start();
      await waitReady(direct.url);
      const afterwards = await postJson(`${direct.url}/store`, { id: `${runId}-b`, text: 'after', run_id: runId });
      assert.equal(afterwards.status, 201);
      assert.equal(await countRows(backends.postgresUrl, runId), 2);
      assert.equal(await countPoints(backends.qdrantUrl, direct.namespace, runId), 2);
    } finally {
      await direct.close();
      await proxy.stop();
    }
  });
}
