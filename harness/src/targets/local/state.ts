import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const STATE_FILE_NAME = 'state.json';
const STATE_VERSION = 1;

export const BACKEND_COMPONENTS = ['postgres', 'kafka', 'qdrant'] as const;
export const SERVICE_COMPONENTS = ['api', 'kv-writer', 'vector-indexer'] as const;
/** Start order; `down` stops in reverse. */
export const ALL_COMPONENTS = [...BACKEND_COMPONENTS, ...SERVICE_COMPONENTS] as const;

export type BackendName = (typeof BACKEND_COMPONENTS)[number];
export type ServiceComponentName = (typeof SERVICE_COMPONENTS)[number];
export type ComponentName = (typeof ALL_COMPONENTS)[number];

/** Record of one component in the state file. */
export interface ComponentRecord {
  name: ComponentName;
  /** Main port (Postgres, Kafka broker, Qdrant HTTP, service HTTP). */
  port: number;
  /** Further ports the component listens on, e.g. `controller` for Kafka. */
  extraPorts?: Record<string, number>;
  /** Connection URL, broker list or base URL. */
  address: string;
  /** PID of the process this harness started; absent when stopped or not managed here. */
  pid?: number;
  logPath: string;
  /** False for a component the harness uses but did not start (QDRANT_URL). */
  managed: boolean;
  /** Kind of process, e.g. "qdrant-edge stand-in (qdrant-edge-py 0.9.0)" or "kafka 3.9.1 (jars from Maven, 58 files)". */
  flavour?: string;
  startedAt?: string;
  /** Service processes: sha256 of the settings they were started with (see service.ts serviceSettings); never the values. */
  settingsHash?: string;
  /** Service processes: names of the settings variables that were set. */
  settingsKeys?: string[];
  /** Service processes: whether it was started with a non-empty SOMA_API_TOKEN, so its API requires a bearer token. */
  authRequired?: boolean;
}

export interface LocalState {
  version: number;
  /** Kafka cluster id used when the storage was formatted. */
  kafkaClusterId?: string;
  components: Partial<Record<ComponentName, ComponentRecord>>;
}

export function emptyState(): LocalState {
  return { version: STATE_VERSION, components: {} };
}

/** Reads `state.json` from the state dir; a missing file is an empty state. */
export function readState(stateDir: string): LocalState {
  let text: string;
  try {
    text = readFileSync(join(stateDir, STATE_FILE_NAME), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return emptyState();
    throw error;
  }
  const parsed = JSON.parse(text) as Partial<LocalState>;
  if (parsed.version !== STATE_VERSION || typeof parsed.components !== 'object' || parsed.components === null) {
    throw new Error(
      `state file ${join(stateDir, STATE_FILE_NAME)} has version ${String(parsed.version)}, expected ${STATE_VERSION}; ` +
        'stop its processes by hand and delete the state dir, or use another --state-dir',
    );
  }
  return { version: STATE_VERSION, kafkaClusterId: parsed.kafkaClusterId, components: parsed.components };
}

/** Writes the state atomically (temporary file, then rename), so a crash never leaves half a file. */
export function writeState(stateDir: string, state: LocalState): void {
  mkdirSync(stateDir, { recursive: true });
  const path = join(stateDir, STATE_FILE_NAME);
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(temporary, path);
}
