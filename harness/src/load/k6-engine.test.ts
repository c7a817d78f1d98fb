/**
 * The k6 engine. The k6 binary is not installed here, because its licence is
 * outside the workplace's package policy. So these tests put the k6 stand-in
 * (./k6-stand-in) first on PATH as `k6` and run the real scenarios/k6 script:
 * on the real pipeline with verification, and against a stalling test server
 * for dropped iterations and k6 thresholds. One test checks the message of a
 * k6 scenario without k6.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { delimiter, join } from 'node:path';
import { getBackends } from '../../../test/support/backends.js';
import { HarnessError } from '../exit-codes.js';
import type { LoadSpec } from '../scenario/types.js';
import { validateSummary } from '../report/write-report.js';
import { externalTargetArgs, ROOT_DIR, runCli, summaryFrom, tempDir, uniqueStackName } from './engine-test-support.js';
import { createK6Engine } from './k6-engine.js';
import { installK6StandIn } from './k6-stand-in/launcher.js';
import { startServiceStack, type ServiceStack } from './service-stack.js';
import { startStallServer } from './stall-server.js';

const originalPath = process.env.PATH ?? '';
const standInDir = tempDir('k6-stand-in');
let stack: ServiceStack;

/** Runs `body` with PATH set to `path`; the k6 engine looks k6 up on process.env.PATH. */
async function withPath<T>(path: string, body: () => Promise<T>): Promise<T> {
  process.env.PATH = path;
  try {
    return await body();
  } finally {
    process.env.PATH = originalPath;
  }
}

before(async () => {
  installK6StandIn(standInDir);
  stack = await startServiceStack({
    backends: await getBackends(),
    rootDir: ROOT_DIR,
    logDir: tempDir('k6-logs'),
    name: uniqueStackName('k6'),
  });
});

after(async () => {
  await stack?.stop();
});

test('k6 suite passes verification through the stand-in', async () => {
  const result = await withPath(`${standInDir}${delimiter}${originalPath}`, () =>
    runCli(['run', 'scenarios/k6.yaml', ...externalTargetArgs(stack.endpoints), '--reports-dir', tempDir('k6-reports')]),
  );

  assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
  assert.match(result.stdout, /^PASSED\s+k6-bulk: 1000\/1000 acknowledged/m);
  assert.match(result.stdout, /^PASSED\s+k6-arrival-rate: \d+\/2000 acknowledged/m);
  const summary = summaryFrom(result);
  assert.deepEqual(validateSummary(summary, ROOT_DIR), []);

  const [bulk, arrival] = summary.scenarios;
  assert.ok(bulk, 'k6-bulk is in the summary');
  assert.ok(arrival, 'k6-arrival-rate is in the summary');
  assert.equal(bulk.load.engine, 'k6');
  assert.equal(bulk.load.mode, 'evented');
  assert.deepEqual(bulk.verification.counts.map((count) => [count.store, count.expected, count.found]), [
    ['postgres', 1000, 1000],
    ['qdrant', 1000, 1000],
  ]);
  assert.equal(bulk.verification.reconciliation.discrepancies.length, 0);
  assert.deepEqual(
    bulk.thresholds.filter((threshold) => threshold.name.startsWith('k6 ')).map((threshold) => [threshold.name, threshold.status]),
    [
      ['k6 http_req_duration{expected_response:true} p(99)<=5000', 'passed'],
      ['k6 soma_items_failed count<=0', 'passed'],
      ['k6 soma_items_rejected count<=0', 'passed'],
    ],
  );

  assert.equal(arrival.load.items.acknowledged % 50, 0, 'whole chunks of 50');
  assert.ok(arrival.load.items.acknowledged >= 1000, `about 30 chunks of 50 in 3 s, got ${arrival.load.items.acknowledged} items`);
  assert.equal(arrival.verification.counts.find((count) => count.store === 'postgres')?.found, arrival.load.items.acknowledged);
  assert.ok(arrival.load.notes.some((note) => /^k6 constant-arrival-rate: target 10 iterations\/s/.test(note)));
  assert.deepEqual(arrival.invalidReasons, []);
});

function stallSpec(): LoadSpec {
  return {
    engine: 'k6',
    items: 1000,
    chunkSize: 10,
    concurrency: 1,
    durationMs: 4000,
    rate: 200,
    seed: 'k6-stall',
    shapes: { flat: 1, coord: 0 },
    invalidItems: 0,
    textLength: { min: 16, max: 32 },
    retry: { maxAttempts: 1, baseDelayMs: 100, maxDelayMs: 100 },
    requestTimeoutMs: 30_000,
    options: { script: 'store-bulk.ts', executor: 'constant-arrival-rate', maxVUs: 2 },
  };
}

test('k6 run that drops iterations is invalid and fails its thresholds', async () => {
  // 20 iterations/s with at most 2 VUs: a 2 s stall leaves no free VU, so k6 drops iterations.
  const server = await startStallServer(500, 2000);
  try {
    const engine = createK6Engine({ env: { ...process.env, PATH: `${standInDir}${delimiter}${originalPath}` } });
    const result = await engine.run(stallSpec(), {
      endpoints: { ...stack.endpoints, apiUrl: server.url },
      runId: uniqueStackName('k6-stall'),
      namespace: 'k6_stall',
      signal: new AbortController().signal,
      thresholds: { latencyP99Ms: 250 },
    });

    assert.ok(server.stalledRequests() >= 1, 'the server stalled');
    assert.equal(result.invalidReasons?.length, 1, result.notes.join('\n'));
    assert.match(result.invalidReasons?.[0] ?? '', /^the load fell short of its fixed arrival rate: .* \d+ iterations dropped, .*raise load\.options\.maxVUs \(now 2\)/);
    const latency = result.engineThresholds?.find((threshold) => threshold.name === 'k6 http_req_duration{expected_response:true} p(99)<=250');
    assert.equal(latency?.status, 'failed', JSON.stringify(result.engineThresholds));
    assert.ok((latency?.measured ?? 0) >= 1000, `k6 measured the stall: p99 ${latency?.measured} ms`);
    assert.equal(result.failed.length, 0, 'every started chunk was answered');
  } finally {
    await server.close();
  }
});

test('k6 scenario without k6 exits 2 naming what to install', async () => {
  const emptyDir = tempDir('no-k6');
  assert.throws(
    () => createK6Engine({ env: { PATH: emptyDir } }),
    (error: unknown) =>
      error instanceof HarnessError &&
      error.exitCode === 2 &&
      error.message === 'the k6 engine needs the k6 binary, and `k6` is not on PATH' &&
      /install k6 v1\.0 or later .*put `k6` on PATH/.test(error.hint ?? ''),
  );

  const result = await withPath(emptyDir, () => runCli(['run', 'scenarios/k6.yaml', ...externalTargetArgs(stack.endpoints), '--reports-dir', tempDir('k6-none')]));
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /error: the k6 engine needs the k6 binary, and `k6` is not on PATH/);
  assert.match(result.stderr, /hint: install k6 v1\.0 or later/);
});

test('k6 scripts type-check against @types/k6', () => {
  const tsc = spawnSync(process.execPath, [join(ROOT_DIR, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT_DIR, 'scenarios', 'k6', 'tsconfig.json')], {
    encoding: 'utf8',
  });
  assert.equal(tsc.status, 0, `${tsc.stdout}${tsc.stderr}`);
});
