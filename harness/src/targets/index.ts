import { usageError } from '../exit-codes.js';
import type { ProgressSink } from '../progress.js';
import type { Target, TargetName } from './types.js';

export const TARGET_NAMES: readonly TargetName[] = ['local', 'kind', 'external'];

/** Settings shared by every target factory. */
export interface TargetOptions {
  rootDir: string;
  env: NodeJS.ProcessEnv;
  progress: ProgressSink;
  signal?: AbortSignal;
  /** Where the target keeps PIDs, logs and data; each target has its own default. */
  stateDir?: string;
  /** Target-specific command-line flags (e.g. --api-url for external). */
  flags?: Record<string, string | boolean | undefined>;
}

export function parseTargetName(value: string | undefined): TargetName {
  const name = value ?? 'local';
  if (!(TARGET_NAMES as readonly string[]).includes(name)) {
    throw usageError(
      `unknown target "${name}"`,
      `use --target ${TARGET_NAMES.join(', --target ')}`,
    );
  }
  return name as TargetName;
}

/** Creates the target by name; each implementation is loaded only when used. */
export async function createTarget(name: TargetName, options: TargetOptions): Promise<Target> {
  switch (name) {
    case 'local': {
      const { createLocalTarget } = await import('./local/index.js');
      return createLocalTarget(options);
    }
    case 'kind': {
      const { createKindTarget } = await import('./kind/index.js');
      return createKindTarget(options);
    }
    case 'external': {
      const { createExternalTarget } = await import('./external/index.js');
      return createExternalTarget(options);
    }
  }
}
