import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ENV_KEYS } from '../../../../service/src/config.js';
import { spawnDaemon } from '../../process/daemon.js';
import { choosePort } from '../../process/ports.js';
import type { LocalComponent, StartContext } from './component.js';
import { waitUntilReady } from './readiness.js';
import type { ComponentRecord, LocalState, ServiceComponentName } from './state.js';

export const SERVICE_ENTRY = join('service', 'src', 'main.ts');
export const KAFKA_TOPIC = 'memory.events';
export const KV_GROUP = 'soma-kv-writer';
export const VECTOR_GROUP = 'soma-vector-indexer';
export const DEFAULT_NAMESPACE = 'api_ns';
const READY_TIMEOUT_MS = 60_000;

/** SOMA_ROLE and SOMA_CONSUMERS of each service process. */
const ROLES: Record<ServiceComponentName, Record<string, string>> = {
  api: { SOMA_ROLE: 'api' },
  'kv-writer': { SOMA_ROLE: 'consumer', SOMA_CONSUMERS: 'kv' },
  'vector-indexer': { SOMA_ROLE: 'consumer', SOMA_CONSUMERS: 'vector' },
};

export function serviceEntryExists(rootDir: string): boolean {
  return existsSync(join(rootDir, SERVICE_ENTRY));
}

/**
 * Builds the environment of one service process: the caller's SOMA_* settings
 * (so a developer can set SOMA_API_TOKEN or SOMA_EVENTING_ENABLED), then the
 * role, the port and the addresses of the local backends, which always win.
 */
export function serviceEnv(name: ServiceComponentName, port: number, state: LocalState, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { postgres, kafka, qdrant } = state.components;
  if (!postgres || !kafka || !qdrant) throw new Error(`${name}: the backends must run before the service starts`);
  return {
    ...env,
    ...ROLES[name],
    SOMA_HOST: '127.0.0.1',
    SOMA_PORT: String(port),
    SOMA_POSTGRES_URL: postgres.address,
    SOMA_KAFKA_BROKERS: kafka.address,
    SOMA_QDRANT_URL: qdrant.address,
  };
}

/** The settings a service process was started with, without their values. */
export interface ServiceSettings {
  /** sha256 over every variable the service reads (config.ts ENV_KEYS) that is set, as sorted key=value lines. */
  hash: string;
  /** Names of those variables, sorted. */
  keys: string[];
}

/**
 * Summarises the environment of a service process. Only the hash of the
 * values is kept, so a token never reaches the state file, yet a changed
 * SOMA_API_TOKEN changes the hash.
 */
export function serviceSettings(env: NodeJS.ProcessEnv): ServiceSettings {
  const keys = ENV_KEYS.filter((key) => env[key] !== undefined).sort();
  const hash = createHash('sha256');
  for (const key of keys) hash.update(`${key}=${env[key] ?? ''}\n`);
  return { hash: hash.digest('hex'), keys: [...keys] };
}

/** Describes how the settings in `previous` differ from `current` by variable name, e.g. "SOMA_API_TOKEN set now". */
export function describeSettingsChange(previous: ComponentRecord, current: ServiceSettings): string {
  if (!previous.settingsHash) return 'it was started without a record of its settings';
  const before = new Set(previous.settingsKeys ?? []);
  const now = new Set(current.keys);
  const added = current.keys.filter((key) => !before.has(key));
  const removed = [...before].filter((key) => !now.has(key));
  const parts = [
    ...(added.length > 0 ? [`${added.join(', ')} set now`] : []),
    ...(removed.length > 0 ? [`${removed.join(', ')} no longer set`] : []),
  ];
  return parts.length > 0 ? parts.join(', ') : 'the value of a SOMA_* setting changed';
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

/** Returns the readiness URL: the api is ready when GET /readyz is 200, a consumer when GET /healthz is 200. */
function readinessUrl(name: ServiceComponentName, address: string): string {
  return name === 'api' ? `${address}/readyz` : `${address}/healthz`;
}

export function createServiceComponent(name: ServiceComponentName): LocalComponent {
  return {
    name,
    // The service drains on SIGTERM: readiness off, requests finish, consumers commit.
    stopSignal: 'SIGTERM',
    stopGraceMs: 20_000,

    async findMissingTools() {
      return [];
    },

    async start(context: StartContext, previous): Promise<ComponentRecord> {
      const baseDir = join(context.stateDir, 'service');
      const logPath = join(baseDir, `${name}.log`);
      mkdirSync(baseDir, { recursive: true });
      const port = await choosePort(previous?.port, context.takenPorts);
      context.takenPorts.add(port);
      const env = serviceEnv(name, port, context.state, context.env);
      context.signal?.throwIfAborted();
      const daemon = spawnDaemon({
        command: process.execPath,
        args: ['--import', 'tsx', SERVICE_ENTRY],
        cwd: context.rootDir,
        env,
        logPath,
      });
      const address = `http://127.0.0.1:${port}`;
      const settings = serviceSettings(env);
      const record: ComponentRecord = {
        name, port, address, pid: daemon.pid, logPath, managed: true,
        flavour: `node ${SERVICE_ENTRY} (${Object.entries(ROLES[name]).map(([k, v]) => `${k}=${v}`).join(' ')})`,
        startedAt: new Date().toISOString(),
        settingsHash: settings.hash,
        settingsKeys: settings.keys,
        authRequired: (env.SOMA_API_TOKEN ?? '').trim() !== '',
      };
      context.state.components[name] = record;
      context.saveState();

      await waitUntilReady({
        component: name, port, logPath, daemon, timeoutMs: READY_TIMEOUT_MS,
        probe: () => answers(readinessUrl(name, address)), progress: context.progress, signal: context.signal,
      });
      return record;
    },

    probe: (record) => answers(readinessUrl(name, record.address)),

    settingsChange(record, context) {
      const current = serviceSettings(serviceEnv(name, record.port, context.state, context.env));
      return record.settingsHash === current.hash ? undefined : describeSettingsChange(record, current);
    },
  };
}
