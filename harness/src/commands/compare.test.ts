import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../cli.js';
import { sampleScenario, sampleSummary } from '../report/summary-fixture.js';

async function runCli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const code = await main(argv, { stdout, stderr, signal: new AbortController().signal, progress: () => {} });
  return { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

function writeJson(dir: string, name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(value));
  return path;
}

test('compare passes an identical pair', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'soma-compare-'));
  const base = writeJson(dir, 'base.json', sampleSummary());
  const current = writeJson(dir, 'current.json', sampleSummary());
  const result = await runCli(['compare', base, current]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^0 regression\(s\) in 5 compared figure\(s\)$/m);
});

test('compare flags a doubled p99 and names both values', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'soma-compare-'));
  const slower = sampleScenario();
  slower.figures = { ...slower.figures, latencyP99Ms: (slower.figures.latencyP99Ms ?? 0) * 2 };
  const base = writeJson(dir, 'base.json', sampleSummary());
  const current = writeJson(dir, 'current.json', sampleSummary([slower]));
  const result = await runCli(['compare', base, current]);
  assert.equal(result.code, 1);
  assert.match(
    result.stdout,
    /^regression: scenarios\[bulk-1000\]\.latencyP99Ms: 752 ms now vs 376 ms in base \(\+100\.0%, tolerance 15%, lower-is-better\)$/m,
  );
  assert.match(result.stdout, /^REGRESSED\s+scenarios\[bulk-1000\]\.latencyP99Ms\s+376\s+752\s+\+100%\s+15%$/m);
});

test('compare tolerance flag lets a small regression pass', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'soma-compare-'));
  const slower = sampleScenario();
  slower.figures = { ...slower.figures, latencyP99Ms: 420 };
  const base = writeJson(dir, 'base.json', sampleSummary());
  const current = writeJson(dir, 'current.json', sampleSummary([slower]));
  assert.equal((await runCli(['compare', base, current])).code, 0);
  assert.equal((await runCli(['compare', base, current, '--tolerance-latency', '5'])).code, 1);
});

test('compare without common figures is a usage error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'soma-compare-'));
  const base = writeJson(dir, 'base.json', { something: 1 });
  const result = await runCli(['compare', base, base]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /error: no figure in common between/);
});

test('compare of a missing file names it', async () => {
  const result = await runCli(['compare', '/nonexistent/base.json', '/nonexistent/current.json']);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /error: result file not found: \/nonexistent\/base\.json/);
});

test('compare rejects a negative latency naming the field', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'soma-compare-'));
  const negative = sampleScenario();
  negative.figures = { ...negative.figures, latencyP99Ms: -5 };
  const base = writeJson(dir, 'base.json', sampleSummary());
  const current = writeJson(dir, 'current.json', sampleSummary([negative]));
  const result = await runCli(['compare', base, current]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, new RegExp(`^error: ${current.replace(/[.]/g, '\\.')} has figures that cannot be compared:$`, 'm'));
  assert.match(result.stderr, /^ {2}scenarios\[bulk-1000\]\.latencyP99Ms is -5, expected 0 or more$/m);
  assert.equal(result.stdout, '');
});

test('compare flags a drop from an overflowing base', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'soma-compare-'));
  const base = writeJson(dir, 'base.json', { itemsPerSecond: 1e308 });
  const current = writeJson(dir, 'current.json', { itemsPerSecond: 100 });
  const result = await runCli(['compare', base, current]);
  assert.equal(result.code, 1, result.stdout);
  assert.match(result.stdout, /^REGRESSED\s+itemsPerSecond\s+1e\+308\s+100\s+-100%\s+10%$/m);
});

test('compare rejects a negative tolerance', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'soma-compare-'));
  const base = writeJson(dir, 'base.json', sampleSummary());
  const result = await runCli(['compare', base, base, '--tolerance=-5']);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /^error: --tolerance is -5, but a tolerance must be 0 or more$/m);
  assert.match(result.stderr, /^hint: pass a percentage of the base value, e\.g\. --tolerance 10/m);
});

test('compare reads spaced negative tolerance', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'soma-compare-'));
  const base = writeJson(dir, 'base.json', sampleSummary());
  for (const option of ['--tolerance', '--tolerance-latency', '--tolerance-throughput', '--tolerance-consistency', '--tolerance-drain']) {
    const result = await runCli(['compare', base, base, option, '-5']);
    assert.equal(result.code, 2, option);
    assert.match(result.stderr, new RegExp(`^error: ${option} is -5, but a tolerance must be 0 or more$`, 'm'), option);
    assert.doesNotMatch(result.stderr, /needs a value/, option);
  }
});

test('compare rejects a negative min-delta-ms', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'soma-compare-'));
  const base = writeJson(dir, 'base.json', sampleSummary());
  const result = await runCli(['compare', base, base, '--min-delta-ms', '-1']);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /^error: --min-delta-ms is -1, but it must be 0 or more$/m);
  assert.match(result.stderr, /^hint: pass milliseconds, e\.g\. --min-delta-ms 2/m);
});

test('compare of a non-JSON file names it on one line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'soma-compare-'));
  const base = join(dir, 'base.json');
  writeFileSync(base, 'not json\n');
  const current = writeJson(dir, 'current.json', sampleSummary());
  const result = await runCli(['compare', base, current]);
  assert.equal(result.code, 2);
  const lines = result.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 2, result.stderr);
  assert.equal(lines[0], `error: ${base} is not JSON: Unexpected token 'o' (the file starts with "not json")`);
  assert.equal(lines[1], 'hint: compare reads JSON results: pass a run directory, its summary.json, or a bench result (bench/results/*.json)');
  assert.equal(result.stdout, '');
});

test('compare JSON error gives line and column', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'soma-compare-'));
  const base = join(dir, 'base.json');
  writeFileSync(base, '{\n  "a": 1\n  "b": 2\n}\n');
  const result = await runCli(['compare', base, base]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /^error: .*base\.json is not JSON: .* at line 3 column 3 \(the file starts with "\{"\)$/m);
});

test('compare JSON error escapes control characters', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'soma-compare-'));
  const base = join(dir, 'base.json');
  writeFileSync(base, '\u0000\u0001\tdata');
  const result = await runCli(['compare', base, base]);
  assert.equal(result.code, 2);
  const firstLine = result.stderr.split('\n')[0] ?? '';
  assert.match(firstLine, /the file starts with "\\u0000\\u0001\\tdata"\)$/);
  assert.doesNotMatch(result.stderr, /[\u0000-\u0008\u000b-\u001f]/);
});

test('compare of an empty file says it is empty', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'soma-compare-'));
  const base = join(dir, 'base.json');
  writeFileSync(base, '');
  const result = await runCli(['compare', base, base]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /^error: .*base\.json is not JSON: Unexpected end of JSON input \(the file is empty\)$/m);
});

test('every harness command has help', async () => {
  for (const command of ['run', 'e2e', 'verify', 'report', 'compare']) {
    const result = await runCli([command, '--help']);
    assert.equal(result.code, 0, command);
    assert.match(result.stdout, new RegExp(`^Usage: soma-harness ${command}`), command);
  }
});
