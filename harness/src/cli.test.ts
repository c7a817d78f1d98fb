/**
 * The CLI's own handling of argv: missing and unknown commands, help,
 * --version and the wording of option errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { joinNegativeValues, main } from './cli.js';
import { REPO_ROOT } from './report/summary-schema.js';

async function runCli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const code = await main(argv, { stdout, stderr, rootDir: REPO_ROOT, signal: new AbortController().signal, progress: () => {} });
  return { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

test('no command prints usage to stderr and exits 2', async () => {
  const result = await runCli([]);
  assert.equal(result.code, 2);
  assert.equal(result.stdout, '');
  assert.match(result.stderr, /^error: missing command\n/);
  assert.match(result.stderr, /^Usage: soma-harness <command> \[options\]$/m);
});

test('help with a command prints that command', async () => {
  const result = await runCli(['help', 'run']);
  assert.equal(result.code, 0);
  assert.match(result.stdout, /^Usage: soma-harness run <suite\|file\.yaml \.\.\.> \[options\]/);
  assert.doesNotMatch(result.stdout, /^Commands:$/m);
});

test('help alone prints the command list', async () => {
  const result = await runCli(['help']);
  assert.equal(result.code, 0);
  assert.match(result.stdout, /^Commands:$/m);
});

test('help of an unknown command is an error', async () => {
  const result = await runCli(['help', 'bogus']);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /^error: unknown command "bogus"$/m);
});

test('version names package version and git sha', async () => {
  const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
  const result = await runCli(['--version']);
  assert.equal(result.code, 0);
  assert.equal(result.stdout, `soma-harness ${version} (git ${sha})\n`);
});

test('unknown option names option and command', async () => {
  const result = await runCli(['run', '--bogus']);
  assert.equal(result.code, 2);
  assert.equal(result.stderr, 'error: unknown option --bogus for "run"\nhint: run `soma-harness run --help` for its options\n');
  assert.equal(result.stdout, '');
});

test('option without its value says it needs one', async () => {
  const result = await runCli(['run', '--target']);
  assert.equal(result.code, 2);
  const lines = result.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 2, result.stderr);
  assert.equal(lines[0], 'error: option --target of "run" needs a value');
  assert.match(lines[1] ?? '', /^hint: pass it as --target VALUE or --target=VALUE; run `soma-harness run --help` for its options$/);
});

test('flag given a value says it takes none', async () => {
  const result = await runCli(['status', '--json=yes']);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /^error: option --json of "status" takes no value$/m);
});

test('argument to a command without arguments is named', async () => {
  const result = await runCli(['up', 'extra']);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /^error: "up" takes no arguments, found "extra"$/m);
});

test('unknown global option is named as an option', async () => {
  const result = await runCli(['--bogus']);
  assert.equal(result.code, 2);
  assert.equal(result.stdout, '');
  assert.match(result.stderr, /^error: unknown option --bogus$/m);
  assert.doesNotMatch(result.stderr, /unknown command/);
  assert.match(result.stderr, /^hint: .*run `soma-harness --help` for the commands$/m);
  assert.match(result.stderr, /^Global options:$/m);
  assert.match(result.stderr, /^ {2}--version /m);
});

test('help lists the global options', async () => {
  const result = await runCli(['--help']);
  assert.equal(result.code, 0);
  assert.match(result.stdout, /^Global options:$/m);
  assert.match(result.stdout, /^ {2}--help, -h /m);
});

test('negative number after an option is its value', () => {
  const options = { tolerance: { type: 'string' }, json: { type: 'boolean' } } as const;
  assert.deepEqual(joinNegativeValues(['a', '--tolerance', '-5', '--json'], options), ['a', '--tolerance=-5', '--json']);
  assert.deepEqual(joinNegativeValues(['--tolerance', '-0.5'], options), ['--tolerance=-0.5']);
  assert.deepEqual(joinNegativeValues(['--tolerance', '-.5'], options), ['--tolerance=-.5']);
});

test('option followed by another option is left alone', () => {
  const options = { tolerance: { type: 'string' }, json: { type: 'boolean' } } as const;
  assert.deepEqual(joinNegativeValues(['--tolerance', '--json'], options), ['--tolerance', '--json']);
  assert.deepEqual(joinNegativeValues(['--json', '-5'], options), ['--json', '-5']);
  assert.deepEqual(joinNegativeValues(['--tolerance=1', '-5'], options), ['--tolerance=1', '-5']);
  assert.deepEqual(joinNegativeValues(['--', '--tolerance', '-5'], options), ['--', '--tolerance', '-5']);
});

test('negative timeout reaches the duration check', async () => {
  const result = await runCli(['verify', '--run-id', 'r1', '--timeout', '-5s']);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /^error: --timeout "-5s" is not a duration of 0 or more; use e\.g\. 500ms, 30s or 2m$/m);
  assert.doesNotMatch(result.stderr, /needs a value/);
});
