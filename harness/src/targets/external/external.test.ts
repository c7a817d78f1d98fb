import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { EXIT_USAGE, HarnessError } from '../../exit-codes.js';
import { getBackends } from '../../../../test/support/backends.js';
import type { TargetOptions } from '../index.js';
import { createExternalTarget, resolveExternalEndpoints } from './index.js';

function options(flags: Record<string, string>, env: Record<string, string> = {}): TargetOptions {
  return { rootDir: '/', env, progress: () => {}, flags };
}

/** Returns a loopback port that nothing listens on: bound once, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolvePromise) => server.listen(0, '127.0.0.1', resolvePromise));
  const address = server.address();
  await new Promise<void>((resolvePromise) => server.close(() => resolvePromise()));
  return typeof address === 'object' && address ? address.port : 1;
}

test('missing endpoints name the flag and the variable', () => {
  assert.throws(
    () => resolveExternalEndpoints(options({ 'api-url': 'http://127.0.0.1:9595' })),
    (error: unknown) =>
      error instanceof HarnessError &&
      error.exitCode === EXIT_USAGE &&
      error.message === 'the external target needs --postgres-url or SOMA_POSTGRES_URL, --qdrant-url or SOMA_QDRANT_URL',
  );
});

test('flags win over the environment', () => {
  const endpoints = resolveExternalEndpoints(
    options(
      { 'api-url': 'http://127.0.0.1:1/', 'kafka-brokers': '127.0.0.1:2, 127.0.0.1:3', 'consumer-groups': 'a,b' },
      { SOMA_API_URL: 'http://ignored', SOMA_POSTGRES_URL: 'postgres://p', SOMA_QDRANT_URL: 'http://q/', SOMA_API_TOKEN: 't' },
    ),
  );
  assert.equal(endpoints.apiUrl, 'http://127.0.0.1:1');
  assert.equal(endpoints.qdrantUrl, 'http://q');
  assert.deepEqual(endpoints.kafkaBrokers, ['127.0.0.1:2', '127.0.0.1:3']);
  assert.deepEqual(endpoints.consumerGroups, ['a', 'b']);
  assert.equal(endpoints.apiToken, 't');
  assert.equal(endpoints.topic, 'memory.events');
  assert.equal(endpoints.namespace, 'api_ns');
});

test('preflight names the unreachable endpoint only', async () => {
  const backends = await getBackends();
  const apiPort = await closedPort();
  const target = createExternalTarget(
    options({
      'api-url': `http://127.0.0.1:${apiPort}`,
      'postgres-url': backends.postgresUrl,
      'qdrant-url': backends.qdrantUrl,
      'kafka-brokers': backends.kafkaBrokers.join(','),
    }),
  );
  await assert.rejects(target.up(), (error: unknown) => {
    assert.ok(error instanceof HarnessError);
    assert.equal(error.exitCode, EXIT_USAGE);
    assert.match(error.message, /^external target unreachable: api\n/);
    assert.match(error.message, new RegExp(`api at http://127\\.0\\.0\\.1:${apiPort}/healthz: ECONNREFUSED`));
    assert.doesNotMatch(error.message, /postgres at|qdrant at|kafka at/);
    return true;
  });
});

test('preflight names every unreachable backend', async () => {
  const port = await closedPort();
  const target = createExternalTarget(
    options({
      'api-url': `http://127.0.0.1:${port}`,
      'postgres-url': `postgresql://postgres@127.0.0.1:${port}/postgres`,
      'qdrant-url': `http://127.0.0.1:${port}`,
      'kafka-brokers': `127.0.0.1:${port}`,
    }),
  );
  await assert.rejects(target.up(), /^HarnessError: external target unreachable: api, postgres, qdrant, kafka/);
  const status = await target.status();
  assert.deepEqual(status.map((row) => [row.name, row.state]), [
    ['api', 'dead'],
    ['postgres', 'dead'],
    ['qdrant', 'dead'],
    ['kafka', 'dead'],
  ]);
});

test('external target starts nothing and collects no logs', async () => {
  const target = createExternalTarget(options({}));
  await target.down();
  assert.deepEqual(await target.collectLogs('/tmp/unused'), []);
  assert.equal(target.runAction, undefined);
});

test('metrics urls come from the flag or the environment', () => {
  const required = { SOMA_API_URL: 'http://127.0.0.1:9595', SOMA_POSTGRES_URL: 'postgres://p', SOMA_QDRANT_URL: 'http://q' };
  assert.equal(resolveExternalEndpoints(options({}, required)).metricsUrls, undefined, 'optional: none given');
  const fromEnv = resolveExternalEndpoints(options({}, { ...required, SOMA_METRICS_URLS: 'api=http://127.0.0.1:9595/metrics, kv-writer=http://127.0.0.1:9596/metrics' }));
  assert.deepEqual(fromEnv.metricsUrls, { api: 'http://127.0.0.1:9595/metrics', 'kv-writer': 'http://127.0.0.1:9596/metrics' });
  const fromFlag = resolveExternalEndpoints(
    options({ 'metrics-urls': 'vector-indexer=http://127.0.0.1:9597/metrics' }, { ...required, SOMA_METRICS_URLS: 'api=http://ignored/metrics' }),
  );
  assert.deepEqual(fromFlag.metricsUrls, { 'vector-indexer': 'http://127.0.0.1:9597/metrics' });
});

test('malformed metrics urls entry is named', () => {
  const required = { SOMA_API_URL: 'http://127.0.0.1:9595', SOMA_POSTGRES_URL: 'postgres://p', SOMA_QDRANT_URL: 'http://q' };
  for (const entry of ['http://127.0.0.1:9596/metrics', 'kv-writer=not-a-url', 'kv writer=http://h/metrics']) {
    assert.throws(
      () => resolveExternalEndpoints(options({ 'metrics-urls': entry }, required)),
      (error: unknown) => error instanceof HarnessError && error.exitCode === EXIT_USAGE && error.message === `--metrics-urls entry "${entry}" is not name=URL`,
      entry,
    );
  }
});

test('status names a Qdrant stand-in', async () => {
  const backends = await getBackends();
  const target = createExternalTarget(
    options({
      'api-url': `http://127.0.0.1:${await closedPort()}`,
      'postgres-url': backends.postgresUrl,
      'qdrant-url': backends.qdrantUrl,
    }),
  );
  const qdrant = (await target.status()).find((row) => row.name === 'qdrant');
  assert.equal(qdrant?.state, 'running');
  assert.match(qdrant?.detail ?? '', /^HTTP 200; soma qdrant-edge stand-in \(qdrant-edge-py [0-9.]+\), a stand-in that speaks the REST API of qdrant - vector search engine [0-9.]+$/);
});
