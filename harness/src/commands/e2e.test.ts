/**
 * The harness end to end on its own local target (Postgres, Kafka, Qdrant and
 * the service's api, kv-writer and vector-indexer as real processes in the
 * state dir .soma/test-harness-e2e): the e2e command from a stopped target,
 * runs where the pipeline really loses data or gains a phantom, re-checking a
 * past run, the external target, an invalid scenario, a run interrupted by
 * SIGINT, an API that needs a token, and report rebuilding. The tests share
 * the target and run in order.
 */
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from '../process/daemon.js';
import { runCli, type CliResult } from '../load/engine-test-support.js';
import { createLocalTarget } from '../targets/local/index.js';
import { validateSummary } from '../report/write-report.js';
import type { RunSummary } from '../report/summary.js';

const ROOT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const STATE_DIR = join(ROOT_DIR, '.soma', 'test-harness-e2e');
const REPORTS_DIR = mkdtempSync(join(tmpdir(), 'soma-e2e-reports-'));
const STATE_ARGS = ['--state-dir', STATE_DIR, '--reports-dir', REPORTS_DIR];

function localTarget() {
  return createLocalTarget({ rootDir: ROOT_DIR, env: process.env, progress: () => {}, stateDir: STATE_DIR });
}

/** Reads the summary of the run whose report path the command printed. */
function summaryFrom(result: CliResult): { summary: RunSummary; runDir: string } {
  const match = /^report: {2}(.+)\/index\.html$/m.exec(result.stdout);
  assert.ok(match?.[1], `no report path in:\n${result.stdout}`);
  const runDir = match[1];
  return { summary: JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')) as RunSummary, runDir };
}

async function runningComponents(): Promise<string[]> {
  const rows = await localTarget().status();
  return rows.filter((row) => row.state === 'running').map((row) => row.name);
}

let bulkRunId = '';
const API_TOKEN = `e2e-token-${process.pid}`;

before(async () => {
  await runCli(['down', '--state-dir', STATE_DIR, '--quiet']);
});

after(async () => {
  await runCli(['down', '--state-dir', STATE_DIR, '--purge', '--quiet']);
});

test('e2e passes the default suite and leaves the target stopped', async () => {
  assert.deepEqual(await runningComponents(), []);
  const result = await runCli(['e2e', '--target', 'local', ...STATE_ARGS]);

  assert.equal(result.code, 0, result.stdout);
  assert.match(result.stdout, /^PASSED\s+smoke: 50\/50 acknowledged/m);
  assert.match(result.stdout, /^PASSED\s+bulk-1000: 1000\/1000 acknowledged/m);
  assert.match(result.stdout, /^verdict: passed \(exit 0\)$/m);
  const { summary, runDir } = summaryFrom(result);
  for (const file of ['index.html', 'summary.json', 'junit.xml', 'acks/bulk-1000.ndjson', 'logs/api.log']) {
    assert.ok(existsSync(join(runDir, file)), `${file} is written`);
  }
  assert.deepEqual(validateSummary(summary, ROOT_DIR), []);
  assert.ok(existsSync(join(REPORTS_DIR, 'index.html')), 'runs index is written');

  const bulk = summary.scenarios.find((scenario) => scenario.name === 'bulk-1000');
  assert.ok(bulk);
  bulkRunId = bulk.runId;
  assert.deepEqual(bulk.verification.counts.map((count) => [count.store, count.expected, count.found]), [
    ['postgres', 1000, 1000],
    ['qdrant', 1000, 1000],
  ]);
  assert.equal(bulk.verification.lag.summary.drained, true);
  assert.equal(bulk.verification.reconciliation.discrepancies.length, 0);
  assert.equal(bulk.load.chunks.length, 10);
  assert.ok(bulk.verification.consistency.every((store) => store.visible === 1000 && store.method === 'per-item'));
  assert.match(readFileSync(join(runDir, 'junit.xml'), 'utf8'), /<testsuites name="soma-harness default" tests="\d+" failures="0"/);

  assert.match(summary.environment.standIns?.qdrant ?? '', /^soma qdrant-edge stand-in \(qdrant-edge-py [0-9.]+\)$/);
  assert.match(summary.environment.backendVersions.qdrant ?? '', /stand-in that speaks the REST API of qdrant/);
  assert.match(readFileSync(join(runDir, 'index.html'), 'utf8'), /data-testid="stand-ins">Stand-in, not the real component: qdrant is soma qdrant-edge stand-in/);

  // The consumers' own /metrics: each wrote the run's items, in batches, to its store.
  assert.deepEqual(bulk.consumers?.map((consumer) => consumer.component), ['kv-writer', 'vector-indexer']);
  const written = (component: string, figure: 'messagesPerSecond' | 'postgresWritesPerSecond' | 'qdrantWritesPerSecond') =>
    bulk.consumers?.find((consumer) => consumer.component === component)?.points.some((point) => (point[figure] ?? 0) > 0);
  assert.equal(written('kv-writer', 'messagesPerSecond'), true, 'kv-writer consumed messages');
  assert.equal(written('kv-writer', 'postgresWritesPerSecond'), true, 'kv-writer wrote to Postgres');
  assert.equal(written('vector-indexer', 'qdrantWritesPerSecond'), true, 'vector-indexer wrote to Qdrant');
  assert.ok(bulk.consumers?.every((consumer) => consumer.somaMetrics.includes('soma_consumer_batch_size_count')));

  assert.deepEqual(await runningComponents(), [], 'e2e stops the target it started');
});

test('status names the Qdrant stand-in', async () => {
  const up = await runCli(['up', '--state-dir', STATE_DIR, '--quiet']);
  assert.equal(up.code, 0, up.stderr);
  const result = await runCli(['status', '--state-dir', STATE_DIR]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^COMPONENT .* DETAIL$/m);
  assert.match(result.stdout, /^qdrant +running +\d+ .* qdrant-edge stand-in \(qdrant-edge-py [0-9.]+\)$/m);
  const down = await runCli(['down', '--state-dir', STATE_DIR, '--quiet']);
  assert.equal(down.code, 0, down.stderr);
});

test('invalid scenario exits 2 before any load', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'soma-invalid-')), 'invalid.yaml');
  writeFileSync(file, 'name: invalid\nload:\n  engine: chunked\n  items: 10\n  concurrency: 0\n');
  const result = await runCli(['run', file, ...STATE_ARGS]);

  assert.equal(result.code, 2);
  assert.match(result.stderr, new RegExp(`${file.replace(/[.]/g, '\\.')}:5:3: \\$\\.load\\.concurrency: expected a number >= 1, found 0`));
  assert.deepEqual(await runningComponents(), [], 'no target was started');
});

test('lost items exit 3 naming class, store, count and samples', async () => {
  const up = await runCli(['up', '--state-dir', STATE_DIR, '--quiet']);
  assert.equal(up.code, 0, up.stderr);
  try {
    const result = await runCli(['run', 'fault-lost-items', ...STATE_ARGS]);

    assert.equal(result.code, 3, result.stdout);
    assert.match(result.stdout, /^INVARIANT-FAILED\s+lost-items: 200\/200 acknowledged/m);
    assert.match(result.stdout, /lost: 7 items acknowledged but in no store \(postgres, qdrant\); sample: lost-items-\S+-\d{7}, /);
    assert.match(result.stdout, /partial: \d+ items acknowledged but missing from qdrant while present in another store; sample: lost-items-\S+-\d{7}, /);
    assert.match(result.stdout, /consumer group soma-vector-indexer still \d+ messages behind/);
    assert.match(result.stdout, /qdrant holds \d+ items for the run, expected 200 acknowledged/);

    const { summary } = summaryFrom(result);
    const scenario = summary.scenarios[0];
    assert.ok(scenario);
    assert.deepEqual(scenario.actions.map((action) => [action.action, action.at, action.status]), [
      ['stop-component', '30%', 'done'],
      ['postgres-delete-rows', '100%', 'done'],
    ]);

    // The indexer stopped during the load: once 30% of the items were
    // acknowledged (after the third of ten chunks), and the load went on.
    assert.ok((scenario.actions[0]?.startedMs ?? 0) > 0, 'the stop came after the load started');
    assert.equal(scenario.load.chunks.length, 10);
    assert.equal(scenario.load.items.acknowledged, 200, 'the load went on after the stop');

    // The 7 rows sent last were deleted; the indexer never saw them, so they are lost.
    const deleted = /^deleted 7 row\(s\) from public\.kv_store: (.+)$/.exec(scenario.actions[1]?.results[0] ?? '')?.[1]?.split(', ');
    assert.deepEqual(deleted?.map((id) => Number(id.slice(-7))), [193, 194, 195, 196, 197, 198, 199]);
    const lost = scenario.verification.reconciliation.discrepancies.find((entry) => entry.class === 'lost');
    assert.equal(lost?.store, 'all');
    assert.equal(lost?.count, 7);
    assert.deepEqual(lost?.sample.map((entry) => entry.id), deleted, 'the lost items are the deleted rows');

    // Every other item sent after the stop (seq 60 to 192) is in Postgres only.
    const partial = scenario.verification.reconciliation.discrepancies.find((entry) => entry.class === 'partial');
    assert.equal(partial?.store, 'qdrant');
    assert.ok((partial?.count ?? 0) >= 133, `partial count ${partial?.count}: at least the 140 items sent after the stop, less the 7 lost`);
    assert.ok((partial?.count ?? 0) <= 193, `partial count ${partial?.count}: at most every item but the 7 lost`);
    assert.equal(scenario.verification.reconciliation.counts.lost, 7);
    assert.equal(scenario.verification.reconciliation.counts.partial, partial?.count);
  } finally {
    const restart = await runCli(['up', '--state-dir', STATE_DIR, '--quiet']);
    assert.equal(restart.code, 0, 'the vector indexer starts again');
  }
});

let phantomRunId = '';

test('phantom row exits 3 naming the phantom id', async () => {
  const result = await runCli(['run', 'fault-phantom', ...STATE_ARGS]);

  assert.equal(result.code, 3, result.stdout);
  const { summary } = summaryFrom(result);
  phantomRunId = summary.scenarios[0]?.runId ?? '';
  assert.match(
    result.stdout,
    new RegExp(`phantom: 1 item in postgres carries the run id but was never acknowledged; sample: ${phantomRunId}-phantom-0$`, 'm'),
  );
  assert.match(result.stdout, /postgres holds 101 items for the run, expected 100 acknowledged/);
  assert.doesNotMatch(result.stdout, /lost:|partial:/);
});

test('partly rejected chunks are accounted item by item', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'soma-partial-')), 'partial.yaml');
  writeFileSync(file, 'name: partly-invalid\nload: { engine: chunked, items: 100, chunkSize: 25, concurrency: 2, seed: 3, invalidItems: 0.2 }\n');
  const result = await runCli(['run', file, ...STATE_ARGS, '--json']);

  assert.equal(result.code, 0, result.stdout);
  const scenario = (JSON.parse(result.stdout) as RunSummary).scenarios[0];
  assert.ok(scenario);
  const { items, chunks, rejectedSample } = scenario.load;
  assert.ok(items.rejected > 0, 'some items are rejected');
  assert.equal(items.acknowledged + items.rejected, 100);
  assert.equal(items.failed, 0);
  assert.deepEqual(chunks.map((chunk) => chunk.status), [202, 202, 202, 202]);
  assert.equal(chunks.reduce((sum, chunk) => sum + chunk.rejected, 0), items.rejected);
  assert.equal(rejectedSample[0]?.code, 'SOMA_ERR_ITEM_INVALID');
  assert.equal(scenario.verification.reconciliation.counts.phantom, 0, 'no rejected item is stored');
  assert.equal(scenario.verification.expectedItems, items.acknowledged);
});

test('breached threshold exits 1 naming figure and limit', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'soma-threshold-')), 'threshold.yaml');
  writeFileSync(file, 'name: too-strict\nload: { engine: chunked, items: 40, chunkSize: 20 }\nthresholds: { latencyP99Ms: 0.001 }\n');
  const result = await runCli(['run', file, ...STATE_ARGS]);

  assert.equal(result.code, 1, result.stdout);
  assert.match(result.stdout, /^THRESHOLD-FAILED\s+too-strict: 40\/40 acknowledged/m);
  assert.match(result.stdout, /threshold latencyP99Ms: p99 latency [0-9.]+ ms, limit <= 0\.001 ms$/m);
});

test('saturated harness CPU exits 4 and prints the summary as JSON', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'soma-invalid-run-')), 'saturated.yaml');
  // 60 items at 25 items/s last about 2.4 s, longer than the minimum window over which saturation is judged.
  writeFileSync(file, 'name: saturated\nload: { engine: chunked, items: 60, chunkSize: 5, rate: 25 }\nvalidity: { maxHarnessCpu: 0.000001 }\n');
  const result = await runCli(['run', file, ...STATE_ARGS, '--json']);

  assert.equal(result.code, 4, result.stdout);
  const summary = JSON.parse(result.stdout) as RunSummary;
  assert.equal(summary.verdict, 'invalid');
  assert.match(summary.scenarios[0]?.invalidReasons[0] ?? '', /^the load generator saturated its CPU: the harness used [0-9.]+ cores on average during the load \(limit 0\.000001\)/);
  assert.deepEqual(summary.scenarios[0]?.verification.reconciliation.discrepancies, []);
});

test('short run records harness CPU without judging it', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'soma-short-run-')), 'short.yaml');
  writeFileSync(file, 'name: short\nload: { engine: chunked, items: 40, chunkSize: 20 }\nvalidity: { maxHarnessCpu: 0.000001 }\n');
  const result = await runCli(['run', file, ...STATE_ARGS, '--json']);

  assert.equal(result.code, 0, result.stdout);
  const scenario = (JSON.parse(result.stdout) as RunSummary).scenarios[0];
  assert.deepEqual(scenario?.invalidReasons, []);
  assert.ok((scenario?.harness.cpuMs ?? 0) > 0, 'the CPU is recorded');
  assert.match(scenario?.harness.cpuNotJudged ?? '', /^harness CPU not judged: the load lasted \d+\.\d s with \d+ CPU sample\(s\), and saturation is judged only over at least 2 s and 4 samples$/);
});

test('verify re-checks past runs against the stores', async () => {
  const phantom = await runCli(['verify', '--run-id', phantomRunId, ...STATE_ARGS, '--timeout', '5s']);
  assert.equal(phantom.code, 3, phantom.stdout);
  assert.match(phantom.stdout, /^FAILED\s+items\.phantom: phantom: 1 item in postgres/m);

  const bulk = await runCli(['verify', '--run-id', bulkRunId, ...STATE_ARGS, '--timeout', '10s']);
  assert.equal(bulk.code, 0, bulk.stdout);
  assert.match(bulk.stdout, /1000 acknowledged items, verdict passed$/m);

  const unknown = await runCli(['verify', '--run-id', 'no-such-run', ...STATE_ARGS]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /error: no run with run_id "no-such-run"/);
});

test('external target runs a scenario against the same deployment', async () => {
  const endpoints = localTarget().readEndpoints();
  const file = join(mkdtempSync(join(tmpdir(), 'soma-external-')), 'external.yaml');
  writeFileSync(file, 'name: external-smoke\nload: { engine: chunked, items: 30, chunkSize: 10, concurrency: 2 }\nverify: { timeout: 30s }\n');
  const result = await runCli([
    'run', file, '--target', 'external', '--reports-dir', REPORTS_DIR,
    '--api-url', endpoints.apiUrl,
    '--postgres-url', endpoints.postgresUrl,
    '--qdrant-url', endpoints.qdrantUrl,
    '--kafka-brokers', endpoints.kafkaBrokers.join(','),
  ]);
  assert.equal(result.code, 0, result.stdout);
  assert.match(result.stdout, /^PASSED\s+external-smoke: 30\/30 acknowledged/m);
  assert.equal(summaryFrom(result).summary.environment.target, 'external');
});

test('SIGINT during a run exits 130 and leaves the target running', async () => {
  const before = await localTarget().status();
  const file = join(mkdtempSync(join(tmpdir(), 'soma-interrupt-')), 'slow.yaml');
  writeFileSync(file, 'name: slow\nload: { engine: chunked, items: 400, chunkSize: 10, rate: 40 }\n');
  const child = spawn(process.execPath, ['harness/bin/soma-harness.mjs', 'run', file, ...STATE_ARGS], {
    cwd: ROOT_DIR,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += String(chunk)));
  child.stderr.on('data', (chunk: Buffer) => (stderr += String(chunk)));
  const exited = new Promise<number | null>((resolveExit) => child.on('close', (code) => resolveExit(code)));
  try {
    // Interrupt once the load has acknowledged its first items.
    for (let i = 0; i < 600 && !/^load slow {2}\d+\/400/m.test(stderr); i++) await sleep(100);
    assert.match(stderr, /^load slow {2}\d+\/400/m, `the load started; stderr:\n${stderr}`);
    child.kill('SIGINT');
    const code = await exited;

    assert.equal(code, 130, stderr);
    assert.match(stderr, /^interrupted by SIGINT \(exit 130\)$/m);
    assert.equal(stderr.split('\n').filter((line) => line.startsWith('interrupted by')).length, 1, stderr);
    assert.match(stderr, /^■ load slow {2}interrupted: /m);
    assert.doesNotMatch(stderr, /^✔ (load|verify) slow/m, 'no ✔ for an interrupted phase');
    assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace');
    assert.match(stdout, /^INTERRUPTED\s+slow: \d+\/400 acknowledged/m);
    assert.match(stdout, /^verdict: interrupted \(exit 130\)$/m);
    const { summary } = summaryFrom({ code: code ?? -1, stdout, stderr });
    assert.equal(summary.exitCode, 130);
    assert.deepEqual(validateSummary(summary, ROOT_DIR), []);
    const after = await localTarget().status();
    assert.deepEqual(after.map((row) => [row.name, row.state, row.pid]), before.map((row) => [row.name, row.state, row.pid]), 'the running target is left as it was');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('up with a new API token restarts only the service', async () => {
  const before = await localTarget().status();
  const result = await runCli(['up', '--state-dir', STATE_DIR], { ...process.env, SOMA_API_TOKEN: API_TOKEN });
  assert.equal(result.code, 0, result.stderr);

  const after = await localTarget().status();
  const pidOf = (rows: typeof before, name: string) => rows.find((row) => row.name === name)?.pid;
  for (const name of ['postgres', 'kafka', 'qdrant']) assert.equal(pidOf(after, name), pidOf(before, name), `${name} keeps running`);
  for (const name of ['api', 'kv-writer', 'vector-indexer']) {
    assert.notEqual(pidOf(after, name), pidOf(before, name), `${name} is restarted`);
    assert.match(result.stderr, new RegExp(`^⚠ ${name}: its settings differ from those it was started with \\(SOMA_API_TOKEN set now\\); restarting it$`, 'm'));
  }
  assert.doesNotMatch(readFileSync(join(STATE_DIR, 'state.json'), 'utf8'), new RegExp(API_TOKEN), 'the token is not written to the state file');

  const again = await runCli(['up', '--state-dir', STATE_DIR], { ...process.env, SOMA_API_TOKEN: API_TOKEN });
  assert.match(again.stderr, /api: reusing pid/);
});

test('run without the API token exits 2 naming SOMA_API_TOKEN', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'soma-auth-')), 'auth.yaml');
  writeFileSync(file, 'name: needs-token\nload: { engine: chunked, items: 40, chunkSize: 20 }\n');
  const { SOMA_API_TOKEN: _unset, ...withoutToken } = process.env;

  const missing = await runCli(['run', file, ...STATE_ARGS], withoutToken);
  assert.equal(missing.code, 2, missing.stdout);
  assert.match(missing.stdout, /^ERROR\s+needs-token: 0\/40 acknowledged/m);
  assert.match(
    missing.stderr,
    /^error: needs-token: every request \(2 of 2\) was answered with HTTP 401 SOMA_ERR_AUTH_MISSING_TOKEN: .*the API requires a bearer token and the harness sent none; set SOMA_API_TOKEN to the API's token/m,
  );
  assert.doesNotMatch(missing.stdout, /too little data|saturated/);
  assert.match(missing.stderr, /^⚠ api: reusing pid \d+, which runs with other settings than this environment's \(SOMA_API_TOKEN no longer set\); `soma-harness up` restarts it with them$/m);

  const wrong = await runCli(['run', file, ...STATE_ARGS], { ...withoutToken, SOMA_API_TOKEN: 'not-the-token' });
  assert.equal(wrong.code, 2, wrong.stdout);
  assert.match(wrong.stderr, /^error: needs-token: every request \(2 of 2\) was answered with HTTP 403 SOMA_ERR_AUTH_INVALID_TOKEN: .*the API rejected the token in SOMA_API_TOKEN/m);

  const right = await runCli(['run', file, ...STATE_ARGS], { ...withoutToken, SOMA_API_TOKEN: API_TOKEN });
  assert.equal(right.code, 0, right.stdout);
});

test('up without the API token restarts the service again', async () => {
  const { SOMA_API_TOKEN: _unset, ...withoutToken } = process.env;
  const result = await runCli(['up', '--state-dir', STATE_DIR], withoutToken);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /^⚠ api: its settings differ from those it was started with \(SOMA_API_TOKEN no longer set\); restarting it$/m);
});

test('report rebuilds every run from its summary', async () => {
  const result = await runCli(['report', '--reports-dir', REPORTS_DIR]);
  assert.equal(result.code, 0, result.stderr);
  const rebuilt = result.stdout.split('\n').filter((line) => line.startsWith('rebuilt ') && line.endsWith('/index.html'));
  assert.equal(rebuilt.length, 13, result.stdout);
  assert.match(readFileSync(join(REPORTS_DIR, 'index.html'), 'utf8'), /fault-phantom/);
});
