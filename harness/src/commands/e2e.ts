import type { ExitCode } from '../exit-codes.js';
import { EXTERNAL_TARGET_HELP } from '../targets/external/index.js';
import { loadSuite } from '../scenario/load-scenarios.js';
import { RUN_OPTIONS, runSuiteCommand } from './run.js';
import { SESSION_HELP } from './target-session.js';
import type { Command, CommandContext, ParsedArgs } from './types.js';

const USAGE = `
Usage: soma-harness e2e [options]

The one command for CI gating: brings the target up (local by default), runs
the default suite (scenarios/default.yaml: smoke, then 1000 items in chunks of
100), writes the report and leaves the target as it found it: stopped again
if it was stopped. \`npm run e2e\` runs \`soma-harness e2e --target local\`.

Options:
  --suite NAME           suite to run instead of default
  --reports-dir DIR      where run directories go (default: reports/)
  --json                 print summary.json on stdout, no progress output
  --quiet                no progress output
${SESSION_HELP}${EXTERNAL_TARGET_HELP}
Exit codes: as for run (0 passed, 1 threshold, 2 usage or environment,
3 data invariant, 4 invalid run; 130 interrupted).
`;

async function run(args: ParsedArgs, context: CommandContext): Promise<ExitCode> {
  const suite = loadSuite([(args.values.suite as string | undefined) ?? 'default'], { rootDir: context.rootDir });
  return runSuiteCommand(suite, args, context);
}

export const e2eCommand: Command = {
  name: 'e2e',
  summary: 'up, run the default suite, report, down (CI gate)',
  usage: USAGE,
  options: { ...RUN_OPTIONS, suite: { type: 'string' } },
  run,
};
