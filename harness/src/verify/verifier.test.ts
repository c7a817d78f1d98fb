/**
 * The verifier against real Postgres, Qdrant and Kafka, with read failures
 * injected into the real lag reader, as a partition leadership change
 * produces them and as they cannot be triggered on demand here.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import kafkajs from 'kafkajs';
import { getBackends, type BackendEndpoints } from '../../../test/support/backends.js';
import { createLatencyHistogram } from '../load/latency.js';
import type { LoadResult } from '../load/types.js';
import type { VerifySpec } from '../scenario/types.js';
import type { TargetEndpoints } from '../targets/types.js';
import { createLagReader, type LagReader } from './kafka-lag.js';
import { createPostgresStore } from './postgres-store.js';
import { createQdrantStore } from './qdrant-store.js';
import { Verifier } from './verifier.js';

const { Kafka, logLevel } = kafkajs;
const suffix = randomBytes(3).toString('hex');
const TOPIC = `verifier-lag-${suffix}`;
const GROUPS = [`verifier-kv-${suffix}`, `verifier-vector-${suffix}`];
const NOT_LEADER = 'This server is not the leader for that topic-partition';
const SPEC: VerifySpec = { stores: ['postgres', 'qdrant'], lag: true, timeoutMs: 2000, pollIntervalMs: 100, settleMs: 500, markers: 10 };

let backends: BackendEndpoints;

before(async () => {
  backends = await getBackends();
  const admin = new Kafka({ clientId: 'verifier-test', brokers: backends.kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 2 }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
});

after(async () => {
  const admin = new Kafka({ clientId: 'verifier-test', brokers: backends.kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [TOPIC] }).catch(() => undefined);
  await admin.disconnect();
});

/** Wraps the real lag reader so that the samples numbered in `failing` (1-based) fail as on a leadership change. */
function failingLagReader(failing: (sample: number) => boolean): LagReader {
  const reader = createLagReader({ brokers: backends.kafkaBrokers, topic: TOPIC, groups: GROUPS });
  let samples = 0;
  return {
    where: reader.where,
    async sample(tMs) {
      samples += 1;
      if (failing(samples)) return { tMs, groups: [], total: 0, error: NOT_LEADER };
      return reader.sample(tMs);
    },
    close: () => reader.close(),
  };
}

function emptyLoad(): LoadResult {
  const now = Date.now();
  return {
    engine: 'chunked', runId: `verifier-${suffix}`, namespace: `verifier_${suffix}`, mode: 'evented', startedAtMs: now, endedAtMs: now, totalItems: 0,
    acknowledged: [], rejected: [], failed: [], notSent: 0,
    requests: { total: 0, succeeded: 0, retried: 0, networkErrors: 0, byStatus: {} },
    chunks: [], latency: createLatencyHistogram(), throughput: [], notes: [],
  };
}

async function verify(lag: LagReader) {
  const endpoints: TargetEndpoints = {
    target: 'external', apiUrl: '', postgresUrl: backends.postgresUrl, qdrantUrl: backends.qdrantUrl,
    kafkaBrokers: backends.kafkaBrokers, topic: TOPIC, consumerGroups: GROUPS, namespace: `verifier_${suffix}`,
  };
  const verifier = new Verifier(
    { endpoints, runId: `verifier-${suffix}`, namespace: `verifier_${suffix}`, spec: SPEC, plannedItems: 0, runStartMs: Date.now() },
    { postgres: createPostgresStore(backends.postgresUrl), qdrant: createQdrantStore(backends.qdrantUrl, `verifier_${suffix}`), lag },
  );
  try {
    verifier.start(new AbortController().signal);
    return await verifier.finish(emptyLoad());
  } finally {
    await verifier.close();
  }
}

test('transient lag errors leave no error or warning', async () => {
  const result = await verify(failingLagReader((sample) => sample <= 2));
  assert.equal(result.lag.errors, 2, 'two samples failed');
  assert.deepEqual(result.errors, []);
  assert.deepEqual(result.warnings, []);
  assert.equal(result.status, 'converged');
  for (const group of GROUPS) assert.equal(result.checks.find((check) => check.name === `lag.${group}`)?.status, 'passed', group);
});

test('persistent lag errors give one warning with the cause', async () => {
  const result = await verify(failingLagReader(() => true));
  assert.deepEqual(result.errors, []);
  assert.equal(result.warnings?.length, 1, JSON.stringify(result.warnings));
  assert.match(
    result.warnings?.[0] ?? '',
    /^Kafka lag could not be read in (\d+) of \1 samples \(\1 in a row, the last one included\): This server is not the leader for that topic-partition$/,
  );
  assert.equal(result.checks.find((check) => check.name === `lag.${GROUPS[0]}`)?.status, 'failed');
});
