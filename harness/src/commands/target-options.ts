/** Options and helpers shared by `up`, `down` and `status`, which work on any target. */
import { resolve } from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import { createTarget, parseTargetName } from '../targets/index.js';
import type { Target } from '../targets/types.js';
import type { CommandContext, ParsedArgs } from './types.js';

export const TARGET_OPTIONS: NonNullable<ParseArgsConfig['options']> = {
  target: { type: 'string' },
  'state-dir': { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean' },
};

/** Creates the target named by --target (default local), with --state-dir and the other flags. */
export async function targetFromArgs(args: ParsedArgs, context: CommandContext): Promise<Target> {
  const name = parseTargetName(args.values.target as string | undefined);
  const stateDir = args.values['state-dir'] as string | undefined;
  const flags: Record<string, string | boolean | undefined> = {};
  for (const [key, value] of Object.entries(args.values)) {
    if (typeof value === 'string' || typeof value === 'boolean') flags[key] = value;
  }
  return createTarget(name, {
    rootDir: context.rootDir,
    env: context.env,
    progress: context.progress,
    signal: context.signal,
    // A --state-dir given on the command line is relative to the current folder.
    stateDir: stateDir === undefined ? undefined : resolve(stateDir),
    flags,
  });
}
