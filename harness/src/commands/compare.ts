import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EXIT_PASSED, EXIT_THRESHOLD_FAILED, EXIT_USAGE, usageError, type ExitCode } from '../exit-codes.js';
import {
  compareFigures,
  DEFAULT_MIN_DELTA_MS,
  DEFAULT_TOLERANCES,
  findInvalidFigures,
  type FigureCategory,
  type FigureComparison,
  type Tolerances,
} from '../report/compare.js';
import type { Command, CommandContext, ParsedArgs } from './types.js';

const USAGE = `
Usage: soma-harness compare BASE CURRENT [options]

Compares the figures of two results and exits 1 when one regressed beyond its
tolerance, naming the figure and both values. BASE and CURRENT are run
directories, summary.json files or any JSON result with the same figure names
(bench results too). A figure's name gives its direction: ...Ms lower is
better, ...PerSecond higher is better. Run summaries are compared on their
\`figures\` objects; other JSON on every number whose key ends so.

Options (tolerances in percent of the base value):
  --tolerance PCT               every category at once
  --tolerance-latency PCT       latency figures (default ${DEFAULT_TOLERANCES.latency})
  --tolerance-throughput PCT    ...PerSecond figures (default ${DEFAULT_TOLERANCES.throughput})
  --tolerance-consistency PCT   time to consistency (default ${DEFAULT_TOLERANCES.consistency})
  --tolerance-drain PCT         time for lag to drain (default ${DEFAULT_TOLERANCES.drain})
  --min-delta-ms MS             ignore millisecond changes below this (default ${DEFAULT_MIN_DELTA_MS})
  --json                        print the comparison as JSON

Exit codes: 0 no regression, 1 a figure regressed, 2 unreadable input or no
figure in common.
`;

const CATEGORIES: FigureCategory[] = ['latency', 'throughput', 'consistency', 'drain'];

const RESULT_HINT = 'pass a run directory, its summary.json, or a bench result (bench/results/*.json)';
const EXCERPT_LENGTH = 40;

/** Replaces control characters with their JSON escapes, so that a message stays on one line. */
function escapeControlCharacters(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, (character) => JSON.stringify(character).slice(1, -1));
}

/**
 * Describes why `text` is not JSON in one line: the parser's reason without
 * its excerpt of the input, the line and column when the parser gives an
 * offset, and the start of the first line of the file.
 */
export function describeJsonError(text: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const reason = message.split(/, "|\n/)[0]?.replace(/ in JSON at position \d+.*$/, '') ?? message;
  const offset = /at position (\d+)/.exec(message)?.[1];
  let position = '';
  if (offset !== undefined) {
    const linesBefore = text.slice(0, Number(offset)).split('\n');
    position = ` at line ${linesBefore.length} column ${(linesBefore.at(-1)?.length ?? 0) + 1}`;
  }
  const firstLine = text.split('\n')[0] ?? '';
  const excerpt = firstLine.length > EXCERPT_LENGTH ? `${firstLine.slice(0, EXCERPT_LENGTH)}...` : firstLine;
  const start = text.trim() === '' ? 'the file is empty' : `the file starts with "${escapeControlCharacters(excerpt)}"`;
  return `${escapeControlCharacters(reason)}${position} (${start})`;
}

function readResult(path: string): unknown {
  const resolved = resolve(path);
  const file = existsSync(resolved) && statSync(resolved).isDirectory() ? join(resolved, 'summary.json') : resolved;
  if (!existsSync(file)) throw usageError(`result file not found: ${file}`, RESULT_HINT);
  const text = readFileSync(file, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw usageError(`${file} is not JSON: ${describeJsonError(text, error)}`, `compare reads JSON results: ${RESULT_HINT}`);
  }
}

function parsePercent(args: ParsedArgs, name: string): number | undefined {
  const text = args.values[name] as string | undefined;
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) {
    throw usageError(`--${name} "${text}" is not a number`, `pass a percentage of the base value, 0 or more, e.g. --${name} 10`);
  }
  if (value < 0) {
    throw usageError(`--${name} is ${text}, but a tolerance must be 0 or more`, `pass a percentage of the base value, e.g. --${name} 10 (0 flags any change)`);
  }
  return value;
}

/** Rejects a result whose figures cannot be compared, naming the file and each field. */
function checkFigures(path: string, document: unknown): void {
  const problems = findInvalidFigures(document);
  if (problems.length === 0) return;
  throw usageError(
    `${path} has figures that cannot be compared:\n  ${problems.join('\n  ')}`,
    'figures named ...Ms or ...PerSecond are durations and rates: finite numbers, 0 or more',
  );
}

function tolerancesFrom(args: ParsedArgs): Partial<Tolerances> {
  const all = parsePercent(args, 'tolerance');
  const tolerances: Partial<Tolerances> = all === undefined ? {} : { latency: all, throughput: all, consistency: all, drain: all, other: all };
  for (const category of CATEGORIES) {
    const value = parsePercent(args, `tolerance-${category}`);
    if (value !== undefined) tolerances[category] = value;
  }
  return tolerances;
}

function formatChange(result: FigureComparison): string {
  if (result.base === null || result.current === null) return '-';
  if (result.changePercent !== null) return `${result.changePercent > 0 ? '+' : ''}${result.changePercent}%`;
  return result.base === 0 ? 'from 0' : 'overflow';
}

function formatTable(results: readonly FigureComparison[]): string {
  const rows = results.map((result) => [
    result.status.toUpperCase(),
    result.figure,
    result.base === null ? '-' : String(result.base),
    result.current === null ? '-' : String(result.current),
    formatChange(result),
    `${result.tolerancePercent}%`,
  ]);
  const table = [['STATUS', 'FIGURE', 'BASE', 'CURRENT', 'CHANGE', 'TOLERANCE'], ...rows];
  const widths = table[0]?.map((_, column) => Math.max(...table.map((row) => (row[column] ?? '').length))) ?? [];
  return table.map((row) => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd()).join('\n');
}

async function run(args: ParsedArgs, context: CommandContext): Promise<ExitCode> {
  if (args.positionals.length !== 2) {
    context.stderr.write(`error: compare needs BASE and CURRENT, got ${args.positionals.length} argument(s)\n\n${USAGE.trim()}\n`);
    return EXIT_USAGE;
  }
  const [basePath, currentPath] = args.positionals as [string, string];
  const minDeltaText = args.values['min-delta-ms'] as string | undefined;
  const minDeltaMs = minDeltaText === undefined ? undefined : Number(minDeltaText);
  if (minDeltaMs !== undefined && (minDeltaText?.trim() === '' || !Number.isFinite(minDeltaMs))) {
    throw usageError(`--min-delta-ms "${minDeltaText}" is not a number`, 'pass milliseconds, 0 or more, e.g. --min-delta-ms 2');
  }
  if (minDeltaMs !== undefined && minDeltaMs < 0) {
    throw usageError(`--min-delta-ms is ${minDeltaText}, but it must be 0 or more`, 'pass milliseconds, e.g. --min-delta-ms 2 (0 ignores no change)');
  }
  const tolerances = tolerancesFrom(args);
  const base = readResult(basePath);
  const current = readResult(currentPath);
  checkFigures(basePath, base);
  checkFigures(currentPath, current);
  const results = compareFigures(base, current, { tolerances, minDeltaMs });
  const compared = results.filter((result) => result.base !== null && result.current !== null);
  if (compared.length === 0) {
    throw usageError(
      `no figure in common between ${basePath} and ${currentPath}`,
      'compare results of the same kind (two run summaries, or two bench results); figures are numbers named ...Ms or ...PerSecond',
    );
  }

  const regressions = results.filter((result) => result.status === 'regressed');
  if (args.values.json === true) {
    context.stdout.write(`${JSON.stringify({ base: basePath, current: currentPath, regressions: regressions.length, results }, null, 2)}\n`);
  } else {
    context.stdout.write(`${formatTable(results)}\n\n`);
    for (const regression of regressions) context.stdout.write(`regression: ${regression.message}\n`);
    context.stdout.write(`${regressions.length} regression(s) in ${compared.length} compared figure(s)\n`);
  }
  return regressions.length > 0 ? EXIT_THRESHOLD_FAILED : EXIT_PASSED;
}

export const compareCommand: Command = {
  name: 'compare',
  summary: 'compare two results with tolerances; exit 1 on a regression',
  usage: USAGE,
  options: {
    tolerance: { type: 'string' },
    'tolerance-latency': { type: 'string' },
    'tolerance-throughput': { type: 'string' },
    'tolerance-consistency': { type: 'string' },
    'tolerance-drain': { type: 'string' },
    'min-delta-ms': { type: 'string' },
    json: { type: 'boolean' },
  },
  allowPositionals: true,
  run,
};
