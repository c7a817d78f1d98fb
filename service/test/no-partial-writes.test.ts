/**
 * Requests rejected as a whole leave nothing behind. Each bad request
 * carries a run_id of its own. After a valid control item has passed both
 * consumer groups and their lag is 0, no row and no point of those run_ids
 * may exist. The evented case also checks that nothing reached the topic or
 * the dead-letter topic. The direct case sends the same requests to an app
 * that writes to Postgres and Qdrant without Kafka.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startDirectApp, type DirectApp } from './support/apps.js';
import {
  backendEnv,
  countPoints,
  countRows,
  postJson,
  testBackends,
  topicMessageCount,
  uniqueName,
  waitFor,
  waitForZeroLag,
} from './support/backends.js';
import { startServiceProcess, type ServiceProcess } from './support/service-process.js';

const LIMITS = {
  SOMA_MAX_BODY_BYTES: String(64 * 1024),
  SOMA_MAX_BULK_ITEMS: '100',
  SOMA_MAX_TEXT_LENGTH: '2000',
};

interface BadRequest {
  name: string;
  path: '/store' | '/store_bulk';
  /** Builds the raw body for the run id. */
  body(runId: string): string;
  status: number;
  code: string;
}

function item(runId: string, index: number, text = `text ${index}`): Record<string, unknown> {
  return { id: `${runId}-${index}`, text, run_id: runId };
}

const BAD_REQUESTS: BadRequest[] = [
  {
    // 50 valid items of 1500 characters each are about 77 KB, over the 64 KiB body limit.
    name: 'body over SOMA_MAX_BODY_BYTES',
    path: '/store_bulk',
    body: (runId) => JSON.stringify({ items: Array.from({ length: 50 }, (_, index) => item(runId, index, 'b'.repeat(1500))) }),
    status: 413,
    code: 'SOMA_ERR_BODY_TOO_LARGE',
  },
  {
    name: 'more items than SOMA_MAX_BULK_ITEMS',
    path: '/store_bulk',
    body: (runId) => JSON.stringify({ items: Array.from({ length: 101 }, (_, index) => item(runId, index)) }),
    status: 413,
    code: 'SOMA_ERR_BULK_TOO_LARGE',
  },
  {
    name: 'only bulk item with text over the limit',
    path: '/store_bulk',
    body: (runId) => JSON.stringify({ items: [item(runId, 0, 't'.repeat(2001))] }),
    status: 400,
    code: 'SOMA_ERR_BULK_ALL_REJECTED',
  },
  {
    name: 'single item with text over the limit',
    path: '/store',
    body: (runId) => JSON.stringify(item(runId, 0, 't'.repeat(2001))),
    status: 400,
    code: 'SOMA_ERR_ITEM_TEXT_TOO_LONG',
  },
  {
    // Two complete, valid items, then the body breaks off.
    name: 'malformed JSON after valid items',
    path: '/store_bulk',
    body: (runId) => `{"items":[${JSON.stringify(item(runId, 0))},${JSON.stringify(item(runId, 1))},{"text":"cut`,
    status: 400,
    code: 'SOMA_ERR_BODY_INVALID_JSON',
  },
  {
    name: '__proto__ key next to a valid item',
    path: '/store_bulk',
    body: (runId) => `{"items":[${JSON.stringify(item(runId, 0))},{"text":"b","run_id":"${runId}","payload":{"__proto__":{"x":1}}}]}`,
    status: 400,
    code: 'SOMA_ERR_BODY_FORBIDDEN_KEY',
  },
];

interface Sent {
  name: string;
  runId: string;
}

/** Sends every bad request with a run id of its own and checks its status and error code. */
async function sendBadRequests(baseUrl: string): Promise<Sent[]> {
  const sent: Sent[] = [];
  for (const request of BAD_REQUESTS) {
    const runId = uniqueName('run');
    const response = await postJson(`${baseUrl}${request.path}`, request.body(runId));
    assert.equal(response.status, request.status, `${request.name}: ${JSON.stringify(response.body).slice(0, 300)}`);
    assert.equal(response.body.code, request.code, request.name);
    sent.push({ name: request.name, runId });
  }
  return sent;
}

describe('evented mode', () => {
  let service: ServiceProcess;
  let backends: Awaited<ReturnType<typeof testBackends>>;
  const topic = uniqueName('events');
  const dlqTopic = `${topic}.dlq`;
  const groups = [uniqueName('kv'), uniqueName('vec')] as const;
  const namespace = uniqueName('ns');

  before(async () => {
    backends = await testBackends();
    service = await startServiceProcess({
      ...LIMITS,
      SOMA_ROLE: 'all',
      ...backendEnv(backends),
      SOMA_KAFKA_TOPIC: topic,
      SOMA_KAFKA_DLQ_TOPIC: dlqTopic,
      SOMA_KAFKA_PARTITIONS: '2',
      SOMA_KV_GROUP: groups[0],
      SOMA_VECTOR_GROUP: groups[1],
      SOMA_DEFAULT_NAMESPACE: namespace,
    });
  });

  after(async () => {
    assert.equal(await service.stop('SIGTERM'), 0, service.output().slice(-2000));
  });

  test('rejected requests write nothing to either store', async () => {
    const sent = await sendBadRequests(service.url);

    // The control item is sent last, so once both groups have written it and
    // their lag is 0, the consumers have read everything before it.
    const controlRun = uniqueName('run');
    const control = await postJson(`${service.url}/store`, item(controlRun, 0));
    assert.equal(control.status, 202, JSON.stringify(control.body));
    await waitFor('the control row', async () => ((await countRows(backends.postgresUrl, controlRun)) === 1 ? true : undefined), 60_000);
    await waitFor('the control point', async () => ((await countPoints(backends.qdrantUrl, namespace, controlRun)) === 1 ? true : undefined), 60_000);
    await waitForZeroLag(backends.kafkaBrokers, groups, topic);

    assert.equal(await topicMessageCount(backends.kafkaBrokers, topic), 1, 'only the control item reached the topic');
    assert.equal(await topicMessageCount(backends.kafkaBrokers, dlqTopic), 0, 'nothing was dead-lettered');
    for (const { name, runId } of sent) {
      assert.equal(await countRows(backends.postgresUrl, runId), 0, `${name}: rows in kv_store`);
      assert.equal(await countPoints(backends.qdrantUrl, namespace, runId), 0, `${name}: points in Qdrant`);
    }
  });
});

describe('direct mode', () => {
  let direct: DirectApp;
  let backends: Awaited<ReturnType<typeof testBackends>>;

  before(async () => {
    backends = await testBackends();
    direct = await startDirectApp(backends, LIMITS);
  });

  after(async () => {
    await direct.close();
  });

  test('rejected requests write nothing to either store', async () => {
    const sent = await sendBadRequests(direct.url);

    // The control item shows that the same app does write a valid request.
    const controlRun = uniqueName('run');
    const control = await postJson(`${direct.url}/store`, item(controlRun, 0));
    assert.equal(control.status, 201, JSON.stringify(control.body));
    assert.equal(await countRows(backends.postgresUrl, controlRun), 1);
    assert.equal(await countPoints(backends.qdrantUrl, direct.namespace, controlRun), 1);

    for (const { name, runId } of sent) {
      assert.equal(await countRows(backends.postgresUrl, runId), 0, `${name}: rows in kv_store`);
      assert.equal(await countPoints(backends.qdrantUrl, direct.namespace, runId), 0, `${name}: points in Qdrant`);
    }
  });
});
