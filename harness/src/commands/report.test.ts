/**
 * `soma-harness report` on summaries written to a temporary reports folder:
 * an invalid summary is skipped with its problem, and invalid arguments
 * stop the command before it writes anything.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../cli.js';
import { sampleSummary } from '../report/summary-fixture.js';
import { REPO_ROOT } from '../report/summary-schema.js';

async function runCli(argv: string[], rootDir = REPO_ROOT): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const code = await main(argv, { stdout, stderr, rootDir, signal: new AbortController().signal, progress: () => {} });
  return { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

function writeRun(reportsDir: string, name: string, summary: unknown): string {
  const runDir = join(reportsDir, name);
  mkdirSync(runDir, { recursive: true });
  writeFileSync(join(runDir, 'summary.json'), JSON.stringify(summary));
  return runDir;
}

test('report skips a summary missing fields', async () => {
  const reportsDir = mkdtempSync(join(tmpdir(), 'soma-report-'));
  const valid = writeRun(reportsDir, '20261204-120000-default', sampleSummary());
  const broken = sampleSummary() as unknown as Record<string, unknown>;
  delete broken.scenarios;
  const invalid = writeRun(reportsDir, '20261204-130000-default', broken);
  const result = await runCli(['report', '--reports-dir', reportsDir]);

  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, new RegExp(`^skipped ${invalid}/summary\\.json: summary\\.json: \\$\\.scenarios: missing; this property is required$`, 'm'));
  assert.doesNotMatch(result.stderr, /Cannot read properties/);
  assert.match(result.stdout, new RegExp(`^rebuilt ${valid}/index\\.html$`, 'm'));
  assert.match(result.stdout, new RegExp(`^rebuilt ${reportsDir}/index\\.html$`, 'm'));
  assert.equal(existsSync(join(invalid, 'index.html')), false, 'the skipped run gets no page');
  const index = readFileSync(join(reportsDir, 'index.html'), 'utf8');
  assert.match(index, /20261204-130000-default[\s\S]*badge-unreadable[\s\S]*\$\.scenarios: missing/);
});

test('report of a missing run dir writes nothing', async () => {
  const rootDir = mkdtempSync(join(tmpdir(), 'soma-report-root-'));
  mkdirSync(join(rootDir, 'reports'));
  writeRun(join(rootDir, 'reports'), '20261204-120000-default', sampleSummary());
  const result = await runCli(['report', '/tmp/nonexistent-soma-run-dir'], rootDir);

  assert.equal(result.code, 2);
  assert.match(result.stderr, /^error: not a run directory: \/tmp\/nonexistent-soma-run-dir does not exist$/m);
  assert.equal(result.stdout, '');
  assert.equal(existsSync(join(rootDir, 'reports', 'index.html')), false, 'the runs index is not rebuilt');
  assert.equal(existsSync(join(rootDir, 'reports', '20261204-120000-default', 'index.html')), false);
});

test('report of a missing reports dir is an error', async () => {
  const result = await runCli(['report', '--reports-dir', '/tmp/nonexistent-soma-reports']);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /^error: --reports-dir \/tmp\/nonexistent-soma-reports does not exist$/m);
});
