import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EXIT_PASSED, EXIT_USAGE, type ExitCode } from '../exit-codes.js';
import { listRuns, writeRunsIndex } from '../report/runs-index.js';
import { readSummary, renderRunFiles, validateSummary } from '../report/write-report.js';
import type { Command, CommandContext, ParsedArgs } from './types.js';

const USAGE = `
Usage: soma-harness report [RUN_DIR ...] [options]

Rebuilds index.html and junit.xml of each run from its summary.json, then
reports/index.html, the list of runs. Without RUN_DIR every run under the
reports folder is rebuilt. Each summary is checked against
schemas/report.schema.json; problems are printed and the run is still rebuilt.

Options:
  --reports-dir DIR      where run directories are (default: reports/)
  --quiet                print nothing but errors
`;

async function run(args: ParsedArgs, context: CommandContext): Promise<ExitCode> {
  const reportsDir = resolve((args.values['reports-dir'] as string | undefined) ?? resolve(context.rootDir, 'reports'));
  const quiet = args.values.quiet === true;
  const runDirs =
    args.positionals.length > 0
      ? args.positionals.map((dir) => resolve(dir))
      : listRuns(reportsDir).map((entry) => join(reportsDir, entry.dir));

  let failures = 0;
  for (const runDir of runDirs) {
    if (!existsSync(join(runDir, 'summary.json'))) {
      context.stderr.write(`error: ${runDir} has no summary.json; pass a run directory under ${reportsDir}\n`);
      failures += 1;
      continue;
    }
    try {
      const summary = readSummary(runDir);
      for (const problem of validateSummary(summary, context.rootDir)) context.stderr.write(`warning: ${runDir}: ${problem}\n`);
      renderRunFiles(runDir, summary);
      if (!quiet) context.stdout.write(`rebuilt ${join(runDir, 'index.html')}\n`);
    } catch (error) {
      context.stderr.write(`error: ${runDir}: ${error instanceof Error ? error.message : String(error)}\n`);
      failures += 1;
    }
  }
  if (existsSync(reportsDir)) {
    const index = writeRunsIndex(reportsDir);
    if (!quiet) context.stdout.write(`rebuilt ${index}\n`);
  }
  return failures > 0 ? EXIT_USAGE : EXIT_PASSED;
}

export const reportCommand: Command = {
  name: 'report',
  summary: 'rebuild run reports and the runs index from summary.json',
  usage: USAGE,
  options: { 'reports-dir': { type: 'string' }, quiet: { type: 'boolean' } },
  allowPositionals: true,
  run,
};
