import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EXIT_PASSED, EXIT_USAGE, usageError, type ExitCode } from '../exit-codes.js';
import { listRuns, writeRunsIndex } from '../report/runs-index.js';
import { readValidSummary, SUMMARY_FILE } from '../report/summary-schema.js';
import { renderRunFiles } from '../report/write-report.js';
import type { Command, CommandContext, ParsedArgs } from './types.js';

const USAGE = `
Usage: soma-harness report [RUN_DIR ...] [options]

Rebuilds index.html and junit.xml of each run from its summary.json, then
reports/index.html, the list of runs. Without RUN_DIR every run under the
reports folder is rebuilt. Each summary is checked against
schemas/report.schema.json first: a summary that cannot be read or breaks the
schema is skipped with a line naming the file and the problem, and the other
runs are still rebuilt. The arguments are checked before anything is written.

Options:
  --reports-dir DIR      where run directories are (default: reports/)
  --quiet                print nothing but errors

Exit codes: 0 every run rebuilt, 2 a run was skipped or an argument is invalid.
`;

/** At most this many schema problems are printed per skipped summary. */
const PROBLEMS_SHOWN = 5;

/** Resolves the run directories to rebuild; throws a usage error naming each argument that is not a run directory. */
function resolveRunDirs(args: ParsedArgs, reportsDir: string, reportsDirGiven: boolean): string[] {
  if (args.positionals.length === 0) {
    if (reportsDirGiven && !existsSync(reportsDir)) {
      throw usageError(`--reports-dir ${reportsDir} does not exist`, 'pass the folder that holds the run directories, e.g. reports/');
    }
    return listRuns(reportsDir).map((entry) => join(reportsDir, entry.dir));
  }
  const runDirs = args.positionals.map((dir) => resolve(dir));
  const problems = runDirs.flatMap((runDir) => {
    if (!existsSync(runDir)) return [`${runDir} does not exist`];
    if (!statSync(runDir).isDirectory()) return [`${runDir} is not a directory`];
    if (!existsSync(join(runDir, SUMMARY_FILE))) return [`${runDir} has no ${SUMMARY_FILE}`];
    return [];
  });
  if (problems.length > 0) {
    throw usageError(
      `not a run directory: ${problems.join('; ')}`,
      `pass run directories written by soma-harness run (e.g. ${join(reportsDir, '<timestamp>-<suite>')}), or no argument to rebuild every run`,
    );
  }
  return runDirs;
}

async function run(args: ParsedArgs, context: CommandContext): Promise<ExitCode> {
  const reportsDirFlag = args.values['reports-dir'] as string | undefined;
  const reportsDir = resolve(reportsDirFlag ?? resolve(context.rootDir, 'reports'));
  const quiet = args.values.quiet === true;
  const runDirs = resolveRunDirs(args, reportsDir, reportsDirFlag !== undefined);

  let skipped = 0;
  for (const runDir of runDirs) {
    const reading = readValidSummary(runDir, context.rootDir);
    if (!reading.summary) {
      const listed = reading.problems.slice(0, PROBLEMS_SHOWN);
      const more = reading.problems.length - listed.length;
      context.stderr.write(`skipped ${join(runDir, SUMMARY_FILE)}: ${listed.join('; ')}${more > 0 ? ` (and ${more} more)` : ''}\n`);
      skipped += 1;
      continue;
    }
    renderRunFiles(runDir, reading.summary);
    if (!quiet) context.stdout.write(`rebuilt ${join(runDir, 'index.html')}\n`);
  }
  if (existsSync(reportsDir)) {
    const index = writeRunsIndex(reportsDir, context.rootDir);
    if (!quiet) context.stdout.write(`rebuilt ${index}\n`);
  }
  if (skipped > 0) context.stderr.write(`error: ${skipped} run(s) skipped; fix or remove their summary.json and run report again\n`);
  return skipped > 0 ? EXIT_USAGE : EXIT_PASSED;
}

export const reportCommand: Command = {
  name: 'report',
  summary: 'rebuild run reports and the runs index from summary.json',
  usage: USAGE,
  options: { 'reports-dir': { type: 'string' }, quiet: { type: 'boolean' } },
  allowPositionals: true,
  run,
};
