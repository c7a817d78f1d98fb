import { EXIT_PASSED, type ExitCode } from '../exit-codes.js';
import { TARGET_OPTIONS, targetFromArgs } from './target-options.js';
import type { Command, CommandContext, ParsedArgs } from './types.js';

const USAGE = `
Usage: soma-harness down [--target local|kind|external] [options]

Stops what \`up\` started: SIGTERM (Postgres: SIGINT, its fast shutdown), then
SIGKILL after a grace period. Works after an interrupted \`up\` too, because
every PID is written to the state dir as soon as its process starts.

Options:
  --target NAME       local (default), kind or external
  --state-dir DIR     state dir of the target (local: .soma/local)
  --purge             also delete the state dir with all data and logs
                      (kind: delete the cluster)
  --quiet             no progress output
`;

async function run(args: ParsedArgs, context: CommandContext): Promise<ExitCode> {
  const target = await targetFromArgs(args, context);
  await target.down({ purge: args.values.purge === true });
  return EXIT_PASSED;
}

export const downCommand: Command = {
  name: 'down',
  summary: 'stop what up started (--purge also deletes its data)',
  usage: USAGE,
  options: { ...TARGET_OPTIONS, purge: { type: 'boolean' } },
  run,
};
