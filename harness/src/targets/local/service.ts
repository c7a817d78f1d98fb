import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
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
      const daemon = spawnDaemon({
        command: process.execPath,
        args: ['--import', 'tsx', SERVICE_ENTRY],
        cwd: context.rootDir,
        env: serviceEnv(name, port, context.state, context.env),
        logPath,
      });
      const address = `http://127.0.0.1:${port}`;
      const record: ComponentRecord = {
        name, port, address, pid: daemon.pid, logPath, managed: true,
        flavour: `node ${SERVICE_ENTRY} (${Object.entries(ROLES[name]).map(([k, v]) => `${k}=${v}`).join(' ')})`,
        startedAt: new Date().toISOString(),
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
  };
}
