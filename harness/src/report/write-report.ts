/**
 * Writes a run's directory under reports/: summary.json (checked against
 * schemas/report.schema.json), index.html, junit.xml and the acknowledged
 * items, then rebuilds reports/index.html.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AcknowledgedItem } from '../load/types.js';
import { renderRunHtml } from './html.js';
import { renderJunit } from './junit.js';
import { writeRunsIndex } from './runs-index.js';
import type { RunSummary } from './summary.js';
import { SUMMARY_FILE, validateSummary } from './summary-schema.js';

export { SUMMARY_FILE, validateSummary };
export const HTML_FILE = 'index.html';
export const JUNIT_FILE = 'junit.xml';

/** Formats a start time as a directory name part: 20261204-195755. */
export function runStamp(at: Date): string {
  return at.toISOString().replace(/[-:]/g, '').replace('T', '-').replace(/\.\d+Z$/, '');
}

/** Creates `reports/<timestamp>-<suite>/`, adding -2, -3, ... when it exists. */
export function createRunDir(reportsDir: string, suite: string, at: Date): string {
  const base = join(reportsDir, `${runStamp(at)}-${suite.replace(/[^A-Za-z0-9._+-]/g, '_')}`);
  let dir = base;
  for (let attempt = 2; existsSync(dir); attempt += 1) dir = `${base}-${attempt}`;
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Writes acknowledged items as NDJSON, one `{id, seq, ackAtMs, expectedHash}` per line. */
export function writeAcknowledged(path: string, items: readonly AcknowledgedItem[]): void {
  writeFileSync(path, items.map((item) => JSON.stringify(item)).join('\n') + (items.length > 0 ? '\n' : ''));
}

/** Reads a file written by writeAcknowledged. */
export function readAcknowledged(path: string): AcknowledgedItem[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line) => JSON.parse(line) as AcknowledgedItem);
}

export function readSummary(runDir: string): RunSummary {
  return JSON.parse(readFileSync(join(runDir, SUMMARY_FILE), 'utf8')) as RunSummary;
}

/** Renders index.html and junit.xml of a run from its summary. */
export function renderRunFiles(runDir: string, summary: RunSummary): void {
  writeFileSync(join(runDir, HTML_FILE), renderRunHtml(summary));
  writeFileSync(join(runDir, JUNIT_FILE), renderJunit(summary));
}

export interface WrittenReport {
  runDir: string;
  /** Schema problems of the summary; empty when it is valid. */
  schemaProblems: string[];
}

/**
 * Writes every file of the run and refreshes the runs index. The files are
 * written even when the summary breaks the schema, so nothing measured is lost;
 * the caller reports the problems.
 */
export function writeRunReport(
  runDir: string,
  summary: RunSummary,
  acknowledged: ReadonlyMap<string, readonly AcknowledgedItem[]>,
  rootDir: string,
  reportsDir: string,
): WrittenReport {
  for (const scenario of summary.scenarios) {
    const items = acknowledged.get(scenario.name) ?? [];
    const path = join(runDir, scenario.acknowledgedFile);
    mkdirSync(join(path, '..'), { recursive: true });
    writeAcknowledged(path, items);
  }
  writeFileSync(join(runDir, SUMMARY_FILE), `${JSON.stringify(summary, null, 2)}\n`);
  renderRunFiles(runDir, summary);
  writeRunsIndex(reportsDir, rootDir);
  return { runDir, schemaProblems: validateSummary(summary, rootDir) };
}
