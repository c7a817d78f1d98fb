/**
 * The vector indexer and vector sizes, with a vector-indexer process
 * (SOMA_ROLE=consumer, SOMA_CONSUMERS=vector) on real Kafka and Qdrant.
 * A collection of another size is a configuration error: the indexer stalls
 * visibly (/readyz, a log line, metrics, lag) and keeps every event until the
 * collection is fixed. An event whose own embedding has the wrong size is a
 * data error: it goes to the dead-letter topic and the indexer carries on.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import {
  countPoints,
  listPointIds,
  readJsonMessages,
  readyz,
  testBackends,
  testKafka,
  topicMessageCount,
  totalLag,
  uniqueName,
  waitFor,
  waitForZeroLag,
} from './support/backends.js';
import { startServiceProcess, type ServiceProcess } from './support/service-process.js';

const VECTOR_SIZE = 128;

interface Indexer {
  process: ServiceProcess;
  topic: string;
  dlqTopic: string;
  group: string;
  namespace: string;
}

async function metricsText(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

/** Sums the samples of `name` whose labels contain every `labels` pair. */
function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Starts a vector indexer on a topic, group and namespace of its own, and waits until it has created the topics. */
async function startIndexer(namespace: string): Promise<Indexer> {
  const backends = await testBackends();
  const topic = uniqueName('events');
  const dlqTopic = `${topic}.dlq`;
  const group = uniqueName('vec');
  const process = await startServiceProcess(
    {
      SOMA_ROLE: 'consumer',
      SOMA_CONSUMERS: 'vector',
      SOMA_KAFKA_BROKERS: backends.kafkaBrokers.join(','),
      SOMA_QDRANT_URL: backends.qdrantUrl,
      SOMA_KAFKA_TOPIC: topic,
      SOMA_KAFKA_DLQ_TOPIC: dlqTopic,
      SOMA_KAFKA_PARTITIONS: '2',
      SOMA_VECTOR_GROUP: group,
      SOMA_DEFAULT_NAMESPACE: namespace,
      SOMA_VECTOR_SIZE: String(VECTOR_SIZE),
    },
    { waitReady: false },
  );
  await waitFor('the kafka check to pass (topics created)', async () => ((await readyz(process.url)).body.checks.kafka?.ok ? true : undefined));
  return { process, topic, dlqTopic, group, namespace };
}

function eventFor(namespace: string, runId: string, id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    event_id: randomUUID(),
    id,
    namespace,
    type: 'episodic',
    timestamp: '2025-09-27T12:34:56.789+00:00',
    payload: { text: `text of ${id}`, run_id: runId },
    ...extra,
  };
}

async function produce(topic: string, messages: { key: string; value: string }[]): Promise<void> {
  const backends = await testBackends();
  const producer = testKafka(backends.kafkaBrokers).producer();
  await producer.connect();
  try {
    await producer.send({ topic, messages, acks: -1 });
  } finally {
    await producer.disconnect();
  }
}

async function createCollection(qdrantUrl: string, name: string, size: number): Promise<void> {
  const response = await fetch(`${qdrantUrl}/collections/${name}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ vectors: { size, distance: 'Cosine' } }),
  });
  assert.equal(response.status, 200, await response.text());
}

async function collectionSize(qdrantUrl: string, name: string): Promise<number | undefined> {
  const response = await fetch(`${qdrantUrl}/collections/${name}`);
  if (response.status !== 200) return undefined;
  const body = (await response.json()) as { result: { config: { params: { vectors: { size: number } } } } };
  return body.result.config.params.vectors.size;
}

// The event namespace is the default namespace (checked by /readyz from the start) or another one
// (found by the first write).
for (const eventsInDefault of [true, false]) {
  const where = eventsInDefault ? 'default' : 'other';
  test(`${where} collection of another size stalls the indexer until fixed`, async () => {
    const backends = await testBackends();
    const namespace = uniqueName('ns');
    await createCollection(backends.qdrantUrl, namespace, 64);
    const indexer = await startIndexer(eventsInDefault ? namespace : uniqueName('ns'));
    try {
      const runId = uniqueName('run');
      const ids = Array.from({ length: 20 }, (_, index) => `${runId}-${index}`);
      if (!eventsInDefault) {
        await waitFor('/readyz 200 before the first write', async () => ((await readyz(indexer.process.url)).status === 200 ? true : undefined));
      }
      await produce(indexer.topic, ids.map((id) => ({ key: id, value: JSON.stringify(eventFor(namespace, runId, id)) })));

      const notReady = await waitFor('/readyz to fail the qdrant check', async () => {
        const { status, body } = await readyz(indexer.process.url);
        return status === 503 && body.checks.qdrant?.ok === false ? body : undefined;
      });
      assert.equal(notReady.status, 'not_ready');
      const detail = notReady.checks.qdrant?.detail ?? '';
      assert.match(detail, new RegExp(namespace));
      assert.match(detail, /\b64\b/);
      assert.match(detail, new RegExp(`\\b${VECTOR_SIZE}\\b`));

      // The stall is visible in the log, the failure counter and the lag gauge.
      const stallLine = await waitFor('a logged qdrant write failure', async () =>
        indexer.process.logLines().find((line) => line.msg === 'qdrant write failed, retrying'),
      );
      const stallError = (stallLine.err ?? {}) as { message?: string };
      assert.match(stallError.message ?? '', new RegExp(`${namespace} has vector size 64`));
      assert.match(stallError.message ?? '', new RegExp(`SOMA_VECTOR_SIZE is ${VECTOR_SIZE}`));
      await waitFor('soma_qdrant_write_failures_total above 0', async () =>
        metricSum(await metricsText(indexer.process.url), 'soma_qdrant_write_failures_total') > 0 ? true : undefined,
      );
      await waitFor('soma_consumer_lag of the group to show 20', async () =>
        metricSum(await metricsText(indexer.process.url), 'soma_consumer_lag', { group: indexer.group }) === 20 ? true : undefined,
      );

      // Nothing was dropped: nothing committed, nothing dead-lettered, nothing written.
      assert.equal(await totalLag(backends.kafkaBrokers, indexer.group, indexer.topic), 20);
      assert.equal(await topicMessageCount(backends.kafkaBrokers, indexer.dlqTopic), 0);
      assert.equal(await countPoints(backends.qdrantUrl, namespace, runId), 0);
      assert.equal(metricSum(await metricsText(indexer.process.url), 'soma_dead_letter_total'), 0);
      assert.equal(indexer.process.child.exitCode, null, 'the indexer keeps running');

      // Fix: delete the collection, so the indexer recreates it with its own size.
      const deleted = await fetch(`${backends.qdrantUrl}/collections/${namespace}`, { method: 'DELETE' });
      assert.equal(deleted.status, 200);
      await waitForZeroLag(backends.kafkaBrokers, [indexer.group], indexer.topic);

      assert.equal(await collectionSize(backends.qdrantUrl, namespace), VECTOR_SIZE);
      assert.equal(await countPoints(backends.qdrantUrl, namespace, runId), 20);
      assert.deepEqual((await listPointIds(backends.qdrantUrl, namespace, runId)).sort(), [...ids].sort());
      assert.equal(await topicMessageCount(backends.kafkaBrokers, indexer.dlqTopic), 0);
      await waitFor('/readyz 200 after the fix', async () => ((await readyz(indexer.process.url)).status === 200 ? true : undefined));
    } finally {
      assert.equal(await indexer.process.stop('SIGTERM'), 0, indexer.process.output().slice(-2000));
    }
  });
}

test('event embedding of the wrong size is dead-lettered', async () => {
  const backends = await testBackends();
  const namespace = uniqueName('ns');
  const indexer = await startIndexer(namespace);
  try {
    await waitFor('/readyz 200', async () => ((await readyz(indexer.process.url)).status === 200 ? true : undefined));

    const runId = uniqueName('run');
    const wrongId = `${runId}-wrong`;
    const computedId = `${runId}-computed`;
    const ownId = `${runId}-own`;
    const ownEmbedding = Array.from({ length: VECTOR_SIZE }, (_, index) => (index % 7) - 3);
    // One key puts all three on one partition, so the good events come after the bad one.
    await produce(indexer.topic, [
      { key: runId, value: JSON.stringify(eventFor(namespace, runId, wrongId, { embedding: [0.1, 0.2, 0.3] })) },
      { key: runId, value: JSON.stringify(eventFor(namespace, runId, computedId)) },
      { key: runId, value: JSON.stringify(eventFor(namespace, runId, ownId, { embedding: ownEmbedding })) },
    ]);
    await waitForZeroLag(backends.kafkaBrokers, [indexer.group], indexer.topic);

    assert.deepEqual((await listPointIds(backends.qdrantUrl, namespace, runId)).sort(), [computedId, ownId].sort());
    assert.equal(await topicMessageCount(backends.kafkaBrokers, indexer.dlqTopic), 1);
    const [letter] = await readJsonMessages<{ reason: string; group: string; detail: string; original: string }>(
      backends.kafkaBrokers,
      indexer.dlqTopic,
      1,
    );
    assert.equal(letter?.reason, 'embedding_size');
    assert.equal(letter?.group, indexer.group);
    assert.match(letter?.detail ?? '', /\b3 dimensions\b/);
    assert.match(letter?.detail ?? '', new RegExp(`\\b${VECTOR_SIZE}\\b`));
    assert.equal((JSON.parse(letter?.original ?? '{}') as { id?: string }).id, wrongId);

    const metrics = await metricsText(indexer.process.url);
    assert.equal(metricSum(metrics, 'soma_dead_letter_total', { reason: 'embedding_size' }), 1);
    assert.equal(metricSum(metrics, 'soma_qdrant_write_failures_total'), 0);
    assert.equal((await readyz(indexer.process.url)).status, 200);
  } finally {
    assert.equal(await indexer.process.stop('SIGTERM'), 0, indexer.process.output().slice(-2000));
  }
});
