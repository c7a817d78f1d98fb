/**
 * The load engines by name. Each engine implements `LoadEngine` from ./types.ts.
 */
import { usageError } from '../exit-codes.js';
import type { EngineName } from '../scenario/types.js';
import { createAutocannonEngine } from './autocannon-engine.js';
import { createChunkedEngine } from './chunked-engine.js';
import { createK6Engine } from './k6-engine.js';
import type { LoadEngine } from './types.js';

type EngineFactory = () => LoadEngine | Promise<LoadEngine>;

const ENGINES: Partial<Record<EngineName, EngineFactory>> = {
  chunked: () => createChunkedEngine(),
  autocannon: () => createAutocannonEngine(),
  k6: () => createK6Engine(),
};

/** Lists the engine names that can run on this checkout. */
export function availableEngines(): EngineName[] {
  return Object.keys(ENGINES) as EngineName[];
}

/** Creates the named engine; an engine without an implementation is a usage error (exit 2). */
export async function createLoadEngine(name: EngineName): Promise<LoadEngine> {
  const factory = ENGINES[name];
  if (!factory) {
    throw usageError(
      `load engine "${name}" is not available in this build`,
      `use one of: ${availableEngines().join(', ')}`,
    );
  }
  return factory();
}
