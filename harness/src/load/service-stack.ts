/**
 * Starts the service's evented pipeline (api, kv-writer and vector-indexer
 * processes, or one process with SOMA_ROLE=all) against running backends,
 * with a topic, consumer groups and default namespace of its own, so that
 * engine tests and the benchmark can share one set of backends without
 * seeing each other's items. The processes are children of this process and
 * are stopped by `stop()`, or killed when this process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { TargetEndpoints } from '../targets/types.js';
import { findFreePort } from '../process/ports.js';
import { sleep } from './retry.js';

export interface BackendAddresses {
  postgresUrl: string;
  kafkaBrokers: string[];
  qdrantUrl: string;
}

export type StackLayout = 'split' | 'all-in-one';

export interface ServiceStackOptions {
  backends: BackendAddresses;
  rootDir: string;
  /** Folder for the processes' log files. */
  logDir: string;
  /** Suffix of the topic, group and namespace names; letters, digits, dot, dash or underscore. */
  name: string;
  /** `split` (default): api, kv-writer and vector-indexer processes; `all-in-one`: one process with SOMA_ROLE=all. */
  layout?: StackLayout;
  /** Extra service settings, SOMA_* keys only (e.g. SOMA_KAFKA_PARTITIONS). */
  env?: Record<string, string>;
  /** Extra node options of the service processes, e.g. ['--cpu-prof', '--cpu-prof-dir=DIR']. */
  nodeArgs?: string[];
  readyTimeoutMs?: number;
}

export interface ServiceProcessInfo {
  role: string;
  pid: number;
  url: string;
  logPath: string;
}

export interface ServiceStack {
  endpoints: TargetEndpoints;
  processes: ServiceProcessInfo[];
  stop(): Promise<void>;
}

interface ProcessSpec {
  role: string;
  env: Record<string, string>;
  readyPath: string;
}

const SERVICE_ENTRY = join('service', 'src', 'main.ts');
const DEFAULT_READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 20_000;

function processSpecs(layout: StackLayout): ProcessSpec[] {
  if (layout === 'all-in-one') return [{ role: 'all', env: { SOMA_ROLE: 'all' }, readyPath: '/readyz' }];
  return [
    { role: 'api', env: { SOMA_ROLE: 'api' }, readyPath: '/readyz' },
    { role: 'kv-writer', env: { SOMA_ROLE: 'consumer', SOMA_CONSUMERS: 'kv' }, readyPath: '/healthz' },
    { role: 'vector-indexer', env: { SOMA_ROLE: 'consumer', SOMA_CONSUMERS: 'vector' }, readyPath: '/healthz' },
  ];
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

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

/** Starts the pipeline and waits until every process is ready. */
export async function startServiceStack(options: ServiceStackOptions): Promise<ServiceStack> {
  const layout = options.layout ?? 'split';
  const topic = `memory.events.${options.name}`;
  const kvGroup = `soma-kv-writer.${options.name}`;
  const vectorGroup = `soma-vector-indexer.${options.name}`;
  const namespace = `ns_${options.name.replace(/[^A-Za-z0-9_]/g, '_')}`;
  mkdirSync(options.logDir, { recursive: true });

  const shared: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    SOMA_HOST: '127.0.0.1',
    SOMA_POSTGRES_URL: options.backends.postgresUrl,
    SOMA_KAFKA_BROKERS: options.backends.kafkaBrokers.join(','),
    SOMA_QDRANT_URL: options.backends.qdrantUrl,
    SOMA_KAFKA_TOPIC: topic,
    SOMA_KAFKA_DLQ_TOPIC: `${topic}.dlq`,
    SOMA_KV_GROUP: kvGroup,
    SOMA_VECTOR_GROUP: vectorGroup,
    SOMA_DEFAULT_NAMESPACE: namespace,
    SOMA_LOG_LEVEL: 'warn',
    ...options.env,
  };

  const children: ChildProcess[] = [];
  const killAll = () => children.forEach((child) => child.exitCode === null && child.kill('SIGKILL'));
  process.once('exit', killAll);
  const stop = async () => {
    process.removeListener('exit', killAll);
    // The api goes first, so the consumers can still drain what it produced.
    for (const child of children) await stopChild(child);
  };

  const processes: ServiceProcessInfo[] = [];
  try {
    for (const spec of processSpecs(layout)) {
      const port = await findFreePort();
      const logPath = join(options.logDir, `${spec.role}.log`);
      const logFd = openSync(logPath, 'a');
      const child = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', SERVICE_ENTRY], {
        cwd: options.rootDir,
        env: { ...shared, ...spec.env, SOMA_PORT: String(port) },
        stdio: ['ignore', logFd, logFd],
      });
      closeSync(logFd);
      children.push(child);
      processes.push({ role: spec.role, pid: child.pid ?? -1, url: `http://127.0.0.1:${port}`, logPath });
    }
    await Promise.all(
      processSpecs(layout).map((spec, index) =>
        waitReady(children[index] as ChildProcess, processes[index] as ServiceProcessInfo, spec.readyPath, options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS),
      ),
    );
  } catch (error) {
    await stop();
    throw error;
  }

  const api = processes[0] as ServiceProcessInfo;
  return {
    endpoints: {
      target: 'local',
      apiUrl: api.url,
      postgresUrl: options.backends.postgresUrl,
      qdrantUrl: options.backends.qdrantUrl,
      kafkaBrokers: options.backends.kafkaBrokers,
      topic,
      consumerGroups: [kvGroup, vectorGroup],
      namespace,
    },
    processes,
    stop,
  };
}

async function waitReady(child: ChildProcess, info: ServiceProcessInfo, path: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`service ${info.role} exited during start-up (code ${child.exitCode}, signal ${child.signalCode}); read ${info.logPath}`);
    }
    if (await answers(`${info.url}${path}`)) return;
    await sleep(200);
  }
  throw new Error(`service ${info.role} on ${info.url} did not answer GET ${path} with 200 within ${timeoutMs / 1000} s; read ${info.logPath}`);
}
