/**
 * Helpers for the engine tests: run the CLI in-process against a service
 * stack on the shared test backends, through the external target, and read
 * the run's summary.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { main } from '../cli.js';
import { createProgressWriter } from '../progress.js';
import type { RunSummary } from '../report/summary.js';
import type { TargetEndpoints } from '../targets/types.js';

export const ROOT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `soma-harness ARGV` in this process with `env` and captures its output. */
export async function runCli(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<CliResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const code = await main(argv, {
    stdout,
    stderr,
    env,
    signal: new AbortController().signal,
    progress: createProgressWriter({ stream: stderr }),
  });
  return { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

/** The flags of `--target external` that point the harness at `endpoints`. */
export function externalTargetArgs(endpoints: TargetEndpoints): string[] {
  return [
    '--target', 'external',
    '--api-url', endpoints.apiUrl,
    '--postgres-url', endpoints.postgresUrl,
    '--qdrant-url', endpoints.qdrantUrl,
    '--kafka-brokers', endpoints.kafkaBrokers.join(','),
    '--topic', endpoints.topic,
    '--consumer-groups', endpoints.consumerGroups.join(','),
    '--namespace', endpoints.namespace,
  ];
}

/** A unique name for a test's topic, groups and namespace. */
export function uniqueStackName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(2).toString('hex')}`;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `soma-${prefix}-`));
}

/** Reads the summary of the run whose report path the command printed. */
export function summaryFrom(result: CliResult): RunSummary {
  const match = /^report: {2}(.+)\/index\.html$/m.exec(result.stdout);
  assert.ok(match?.[1], `no report path in:\n${result.stdout}\n${result.stderr}`);
  return JSON.parse(readFileSync(join(match[1], 'summary.json'), 'utf8')) as RunSummary;
}
