/**
 * Opens the target for the commands that send load or read the stores (run,
 * e2e, verify). The target is brought up when needed. It is taken down again
 * only when this command started it, and not with --keep-up.
 */
import { resolve } from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import { usageError } from '../exit-codes.js';
import { runStep } from '../progress.js';
import { EXTERNAL_TARGET_OPTIONS } from '../targets/external/index.js';
import { createTarget, parseTargetName } from '../targets/index.js';
import type { Target, TargetEndpoints } from '../targets/types.js';
import type { CommandContext, ParsedArgs } from './types.js';

/** Options shared by run, e2e and verify to pick and reach a target. */
export const SESSION_OPTIONS: NonNullable<ParseArgsConfig['options']> = {
  target: { type: 'string' },
  'state-dir': { type: 'string' },
  'keep-up': { type: 'boolean' },
  ...EXTERNAL_TARGET_OPTIONS,
};

export const SESSION_HELP = `
Target:
  --target NAME          local (default), kind or external
  --state-dir DIR        state dir of the target (local: .soma/local)
  --keep-up              leave a target this command started running afterwards
                         (by default it is left as it was found)
`;

export interface TargetSession {
  target: Target;
  endpoints: TargetEndpoints;
  /** Whether this command brought the target up (and so takes it down in release()). */
  startedHere: boolean;
  release(): Promise<void>;
}

function flagsOf(args: ParsedArgs): Record<string, string | boolean | undefined> {
  const flags: Record<string, string | boolean | undefined> = {};
  for (const [key, value] of Object.entries(args.values)) {
    if (typeof value === 'string' || typeof value === 'boolean') flags[key] = value;
  }
  return flags;
}

/** Returns whether any component of the target runs now; an external target always counts as running. */
async function isAnyRunning(target: Target): Promise<boolean> {
  if (target.name === 'external') return true;
  const components = await target.status().catch(() => []);
  return components.some((component) => component.state === 'running');
}

/** Creates the target named by --target, brings it up if needed and returns its endpoints. */
export async function openTargetSession(args: ParsedArgs, context: CommandContext): Promise<TargetSession> {
  const name = parseTargetName(args.values.target as string | undefined);
  const stateDir = args.values['state-dir'] as string | undefined;
  const target = await createTarget(name, {
    rootDir: context.rootDir,
    env: context.env,
    progress: context.progress,
    signal: context.signal,
    stateDir: stateDir === undefined ? undefined : resolve(stateDir),
    flags: flagsOf(args),
  });

  const runningBefore = await isAnyRunning(target);
  const startedHere = !runningBefore;
  let endpoints: TargetEndpoints;
  try {
    endpoints = await runStep(context.progress, `${runningBefore ? 'check' : 'start'} target ${name}`, () => target.up());
  } catch (error) {
    // A failed up may have started some components; stop them so the target stays as it was.
    if (startedHere) await target.down().catch(() => undefined);
    throw error;
  }
  const keepUp = args.values['keep-up'] === true;
  const release = async () => {
    if (!startedHere) return;
    if (keepUp) {
      context.progress({ kind: 'info', message: `target ${name} left running (--keep-up); stop it with soma-harness down --target ${name}` });
      return;
    }
    await runStep(context.progress, `stop target ${name}`, () => target.down());
  };

  if (!endpoints.apiUrl) {
    await release();
    throw usageError(`target ${name} has no API endpoint (the service is not running)`, 'start the service components, e.g. soma-harness up without --backends-only');
  }
  return { target, endpoints, startedHere, release };
}
