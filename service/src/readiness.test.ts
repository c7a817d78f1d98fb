import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import pg from 'pg';
import { pino } from 'pino';
import { createReadiness, describeFailure, describeProbeFailure, redactCredentialsInText, redactEndpoint } from './readiness.js';

/** Returns a loopback port that nothing listens on: one the kernel gave out and that was closed again. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

test('endpoint credentials are removed', () => {
  assert.equal(redactEndpoint('postgres://soma:secret@127.0.0.1:5432/db'), 'postgres://127.0.0.1:5432/db');
  assert.equal(redactEndpoint('http://127.0.0.1:6333'), 'http://127.0.0.1:6333');
  assert.equal(redactEndpoint('http://key:secret@127.0.0.1:6333'), 'http://127.0.0.1:6333');
  assert.equal(redactEndpoint('127.0.0.1:9092,127.0.0.1:9093'), '127.0.0.1:9092,127.0.0.1:9093');
  assert.equal(redactEndpoint('user:pw@host:1'), 'host:1');
});

test('fetch failed is unwrapped to the refused address', async () => {
  const port = await closedPort();
  const error = await fetch(`http://127.0.0.1:${port}/`).then(
    () => assert.fail('the port should refuse connections'),
    (failure: unknown) => failure,
  );
  assert.equal(describeFailure(error), `connection refused (ECONNREFUSED 127.0.0.1:${port})`);
  assert.equal(
    describeProbeFailure('qdrant', error, `http://127.0.0.1:${port}`),
    `qdrant at http://127.0.0.1:${port} is unreachable: connection refused (ECONNREFUSED 127.0.0.1:${port}); ` +
      'check that Qdrant is running and SOMA_QDRANT_URL names it',
  );
});

test('a postgres probe detail names the URL without the password', async () => {
  const port = await closedPort();
  const url = `postgres://soma:pg-secret@127.0.0.1:${port}/postgres`;
  const readiness = createReadiness({
    log: pino({ level: 'silent' }),
    endpoints: { postgres: url },
    probes: {
      postgres: async () => {
        const client = new pg.Client({ connectionString: url });
        try {
          await client.connect();
          return 'ok';
        } finally {
          await client.end().catch(() => undefined);
        }
      },
    },
  });
  await readiness.refresh();
  const detail = readiness.snapshot().checks.postgres?.detail ?? '';
  assert.equal(
    detail,
    `postgres at postgres://127.0.0.1:${port}/postgres is unreachable: connection refused (ECONNREFUSED 127.0.0.1:${port}); ` +
      'check that Postgres is running and SOMA_POSTGRES_URL names it',
  );
});

test('other probe errors keep their message and gain the endpoint', () => {
  const error = new Error('collection api_ns has vector size 64, the service uses 128');
  assert.equal(
    describeProbeFailure('qdrant', error, 'http://127.0.0.1:6333'),
    'qdrant at http://127.0.0.1:6333: collection api_ns has vector size 64, the service uses 128',
  );
  assert.equal(describeProbeFailure('qdrant', error, undefined), 'collection api_ns has vector size 64, the service uses 128');
});

test('a reported write failure names the endpoint', async () => {
  const readiness = createReadiness({
    log: pino({ level: 'silent' }),
    endpoints: { qdrant: 'http://key:secret@127.0.0.1:6333' },
    probes: { qdrant: () => Promise.reject(new Error('still down')) },
  });
  // The check runs before the probe that reportFailure starts can settle.
  readiness.reportFailure('qdrant', 'connection refused (ECONNREFUSED 127.0.0.1:6333)');
  assert.equal(readiness.snapshot().checks.qdrant?.detail, 'qdrant at http://127.0.0.1:6333: connection refused (ECONNREFUSED 127.0.0.1:6333)');
});

test('credentials in URLs inside a text are removed', () => {
  assert.equal(
    redactCredentialsInText('connect to postgres://soma:secret@db:5432/x failed, retry http://key:pw@127.0.0.1:6333 later'),
    'connect to postgres://db:5432/x failed, retry http://127.0.0.1:6333 later',
  );
  assert.equal(redactCredentialsInText('no URL here: user@example'), 'no URL here: user@example');
});

test('a failing condition fails its check until it clears', async () => {
  const readiness = createReadiness({
    log: pino({ level: 'silent' }),
    probes: { qdrant: async () => 'collection ns has vector size 128', kafka: async () => 'brokers ok' },
  });
  await readiness.refresh();
  let stall: string | undefined = 'vector-indexer has failed to write to Qdrant collection ns for 20 s';
  readiness.addCondition('qdrant', () => stall);

  const stalled = readiness.snapshot();
  assert.equal(stalled.status, 'not_ready');
  assert.deepEqual(stalled.checks.qdrant, { ok: false, detail: stall });
  assert.equal(stalled.checks.kafka?.ok, true);
  // Store requests depend on the probes only, so a stalled writer does not reject them.
  assert.doesNotThrow(() => readiness.require(['qdrant']));

  stall = undefined;
  const recovered = readiness.snapshot();
  assert.equal(recovered.status, 'ready');
  assert.deepEqual(recovered.checks.qdrant, { ok: true, detail: 'collection ns has vector size 128' });
});

test('a failing condition is appended to a failed probe', async () => {
  const readiness = createReadiness({
    log: pino({ level: 'silent' }),
    probes: {
      postgres: async () => {
        throw new Error('relation "kv_store" does not exist');
      },
    },
  });
  await readiness.refresh();
  readiness.addCondition('postgres', () => 'kv-writer has failed to write to Postgres for 16 s');
  assert.equal(readiness.snapshot().checks.postgres?.detail, 'relation "kv_store" does not exist; kv-writer has failed to write to Postgres for 16 s');
});
