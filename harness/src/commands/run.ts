import { resolve } from 'node:path';
import { EXIT_USAGE, type ExitCode } from '../exit-codes.js';
import { EXTERNAL_TARGET_HELP } from '../targets/external/index.js';
import { loadSuite } from '../scenario/load-scenarios.js';
import { runSuite } from '../scenario/run-suite.js';
import type { Suite } from '../scenario/types.js';
import { formatRunResult } from './run-output.js';
import { openTargetSession, SESSION_HELP, SESSION_OPTIONS } from './target-session.js';
import type { Command, CommandContext, ParsedArgs } from './types.js';

const USAGE = `
Usage: soma-harness run <suite|file.yaml ...> [options]

Sends each scenario's load, verifies every acknowledged item in Postgres and
Qdrant and that Kafka lag drained, judges the thresholds and writes
reports/<timestamp>-<suite>/ (index.html, summary.json, junit.xml, logs).
A suite name is a file under scenarios/ (e.g. default). Every file is
validated before any load is sent.

Options:
  --reports-dir DIR      where run directories go (default: reports/)
  --run-id ID            fixed run id, to replay a run (with --seed)
  --seed SEED            replaces every scenario's seed
  --json                 print summary.json on stdout, no progress output
  --quiet                no progress output
${SESSION_HELP}${EXTERNAL_TARGET_HELP}
Exit codes: 0 passed, 1 a threshold failed, 2 usage or environment error
(also every request rejected for one cause, e.g. 401 without SOMA_API_TOKEN),
3 a data invariant failed (lost, partial, duplicated, phantom, payload
mismatch, lag not drained), 4 the run is invalid (harness CPU saturated,
too little data); 130 interrupted by Ctrl-C, with a partial report.
`;

export const RUN_OPTIONS = {
  ...SESSION_OPTIONS,
  'reports-dir': { type: 'string' },
  'run-id': { type: 'string' },
  seed: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean' },
} as const;

/** Runs a loaded suite on the target from the arguments and prints the result; shared with e2e. */
export async function runSuiteCommand(suite: Suite, args: ParsedArgs, context: CommandContext): Promise<ExitCode> {
  const json = args.values.json === true;
  const quiet = json || args.values.quiet === true;
  const reportsDir = resolve((args.values['reports-dir'] as string | undefined) ?? resolve(context.rootDir, 'reports'));
  const session = await openTargetSession(args, context);
  try {
    const result = await runSuite({
      suite,
      target: session.target,
      endpoints: session.endpoints,
      rootDir: context.rootDir,
      reportsDir,
      progress: context.progress,
      live: { stream: context.stderr, enabled: !quiet, env: context.env },
      signal: context.signal,
      runId: args.values['run-id'] as string | undefined,
      seed: args.values.seed as string | undefined,
      command: `soma-harness ${process.argv.slice(2).join(' ')}`.trim(),
    });
    for (const problem of result.schemaProblems) context.stderr.write(`warning: summary.json does not match schemas/report.schema.json: ${problem}\n`);
    context.stdout.write(json ? `${JSON.stringify(result.summary, null, 2)}\n` : formatRunResult(result.summary, result.runDir));
    // An environment error also goes to stderr, where CI logs and scripts look for it.
    for (const scenario of result.summary.scenarios) {
      if (scenario.verdict === 'error' && scenario.reasons[0]) context.stderr.write(`error: ${scenario.name}: ${scenario.reasons[0]}\n`);
    }
    return result.summary.exitCode as ExitCode;
  } finally {
    await session.release();
  }
}

async function run(args: ParsedArgs, context: CommandContext): Promise<ExitCode> {
  if (args.positionals.length === 0) {
    context.stderr.write(`error: no suite or scenario file given\n\n${USAGE.trim()}\n`);
    return EXIT_USAGE;
  }
  const suite = loadSuite(args.positionals, { rootDir: context.rootDir });
  return runSuiteCommand(suite, args, context);
}

export const runCommand: Command = {
  name: 'run',
  summary: 'run suites or scenario files, verify every item, write the report',
  usage: USAGE,
  options: RUN_OPTIONS,
  allowPositionals: true,
  run,
};
