/**
 * Backend endpoints for tests: real Postgres, Kafka and Qdrant started by the
 * local target. The test runner (test/run.ts) starts them once and passes them
 * in SOMA_TEST_BACKENDS; a test file run on its own starts them itself under
 * .soma/test-standalone and stops them when its process exits.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isPidAlive } from '../../harness/src/process/daemon.js';
import { createProgressWriter } from '../../harness/src/progress.js';
import { createLocalTarget, type LocalTarget } from '../../harness/src/targets/local/index.js';
import { readState } from '../../harness/src/targets/local/state.js';

export interface BackendEndpoints {
  postgresUrl: string;
  kafkaBrokers: string[];
  qdrantUrl: string;
}

export const BACKENDS_ENV = 'SOMA_TEST_BACKENDS';
export const ROOT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** State dir of a test file run on its own; SOMA_TEST_STANDALONE_DIR overrides it. */
const STANDALONE_STATE_DIR = process.env.SOMA_TEST_STANDALONE_DIR ?? join('.soma', 'test-standalone');

let standalone: Promise<BackendEndpoints> | undefined;

/** Parses SOMA_TEST_BACKENDS and names the field that is wrong. */
export function parseBackends(text: string): BackendEndpoints {
  const value = JSON.parse(text) as Partial<BackendEndpoints>;
  if (typeof value.postgresUrl !== 'string' || !value.postgresUrl) throw new Error(`${BACKENDS_ENV} has no postgresUrl: ${text}`);
  if (!Array.isArray(value.kafkaBrokers) || value.kafkaBrokers.length === 0) throw new Error(`${BACKENDS_ENV} has no kafkaBrokers: ${text}`);
  if (typeof value.qdrantUrl !== 'string' || !value.qdrantUrl) throw new Error(`${BACKENDS_ENV} has no qdrantUrl: ${text}`);
  return { postgresUrl: value.postgresUrl, kafkaBrokers: value.kafkaBrokers, qdrantUrl: value.qdrantUrl };
}

/** Creates a local target for the given state dir with progress on stderr. */
export function createTestTarget(stateDir: string, options: { quiet?: boolean; signal?: AbortSignal } = {}): LocalTarget {
  return createLocalTarget({
    rootDir: ROOT_DIR,
    env: process.env,
    progress: createProgressWriter({ stream: process.stderr, quiet: options.quiet }),
    signal: options.signal,
    stateDir: resolve(ROOT_DIR, stateDir),
    backendsOnly: true,
  });
}

async function startStandalone(): Promise<BackendEndpoints> {
  const target = createTestTarget(STANDALONE_STATE_DIR);
  const before = readState(target.stateDir);
  const alreadyRunning = ['postgres', 'kafka', 'qdrant'].every((name) => isPidAlive(before.components[name as 'postgres']?.pid));
  const endpoints = await target.up();

  // NOTE: backends that another test process started are reused and left
  // running. The process that started them stops them when it exits, even if
  // this one still uses them, so run several files through `npm test`.
  if (!alreadyRunning) stopAtExit(target);
  return { postgresUrl: endpoints.postgresUrl, kafkaBrokers: endpoints.kafkaBrokers, qdrantUrl: endpoints.qdrantUrl };
}

/**
 * Stops the backends when the test process ends. `beforeExit` allows the
 * graceful `down`. An explicit process.exit (the test runner may call it while
 * that `down` still runs) and SIGINT or SIGTERM leave no time to wait, so
 * those only send each live process its stop signal.
 */
function stopAtExit(target: LocalTarget): void {
  let stopping = false;
  const signalAll = () => {
    const state = readState(target.stateDir);
    for (const record of Object.values(state.components)) {
      if (record?.pid && isPidAlive(record.pid)) process.kill(record.pid, record.name === 'postgres' ? 'SIGINT' : 'SIGTERM');
    }
  };
  process.on('beforeExit', () => {
    if (stopping) return;
    stopping = true;
    void target.down();
  });
  process.on('exit', signalAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      signalAll();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
}

/** Returns endpoints of running backends: from SOMA_TEST_BACKENDS, else started once per process. */
export async function getBackends(): Promise<BackendEndpoints> {
  const fromRunner = process.env[BACKENDS_ENV];
  if (fromRunner) return parseBackends(fromRunner);
  standalone ??= startStandalone();
  return standalone;
}
