/**
 * The local target: real Postgres, Apache Kafka (KRaft) and Qdrant (or the
 * Qdrant Edge stand-in) as processes on free 127.0.0.1 ports, then the
 * service's api and consumer processes, all recorded in a state dir.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { InterruptedError, usageError } from '../../exit-codes.js';
import { isPidAlive, stopProcess } from '../../process/daemon.js';
import { runStep, type ProgressSink } from '../../progress.js';
import { fetchQdrantInfo } from '../../report/qdrant-info.js';
import type { TargetOptions } from '../index.js';
import type { ComponentStatus, DownOptions, Target, TargetAction, TargetEndpoints, UpOptions } from '../types.js';
import type { LocalComponent, MissingTool, StartContext } from './component.js';
import { createKafkaComponent } from './kafka.js';
import { withStateLock } from './lock.js';
import { createPostgresComponent } from './postgres.js';
import { createQdrantComponent } from './qdrant.js';
import {
  createServiceComponent, DEFAULT_NAMESPACE, KAFKA_TOPIC, KV_GROUP, SERVICE_ENTRY, serviceEntryExists, VECTOR_GROUP,
} from './service.js';
import {
  ALL_COMPONENTS, BACKEND_COMPONENTS, readState, SERVICE_COMPONENTS, writeState,
  type ComponentName, type ComponentRecord, type LocalState,
} from './state.js';

export const DEFAULT_STATE_DIR = join('.soma', 'local');
const API_TOKEN_VARIABLE = 'SOMA_API_TOKEN';
/** `up` may resolve Maven and PyPI packages on a cold cache; another call waits this long for the lock. */
const LOCK_TIMEOUT_MS = 15 * 60_000;
export const LOCAL_ACTIONS = ['stop-component', 'start-component'] as const;

export interface LocalTargetOptions extends TargetOptions {
  /** Start only postgres, kafka and qdrant (also set by the `--backends-only` flag). */
  backendsOnly?: boolean;
}

/**
 * Tells whether the api process requires a bearer token. A record written
 * before `authRequired` was kept falls back to whether SOMA_API_TOKEN was
 * set at all, and one without settings leaves it unknown.
 */
export function describeApiAuth(record: ComponentRecord): Pick<ComponentStatus, 'authRequired' | 'authTokenVariable'> {
  const authRequired = record.authRequired ?? record.settingsKeys?.includes(API_TOKEN_VARIABLE);
  if (authRequired === undefined) return { authTokenVariable: API_TOKEN_VARIABLE };
  return { authRequired, authTokenVariable: API_TOKEN_VARIABLE };
}

/** Cache of downloads shared by all state dirs: `SOMA_CACHE_DIR`, else ~/.cache/soma. */
export function resolveCacheDir(env: NodeJS.ProcessEnv): string {
  return resolve(env.SOMA_CACHE_DIR ?? join(homedir(), '.cache', 'soma'));
}

/**
 * Describes a running Qdrant by how it was started, and names a stand-in
 * that its flavour does not, such as a stand-in behind QDRANT_URL.
 */
async function describeRunningQdrant(record: ComponentRecord): Promise<string | undefined> {
  if (record.flavour?.includes('stand-in')) return record.flavour;
  const info = await fetchQdrantInfo(record.address, undefined, 2000);
  if (!info?.standIn) return record.flavour;
  return `${record.flavour ?? 'qdrant'}; stand-in: ${info.standIn}`;
}

function formatMissingTools(missing: MissingTool[]): string {
  return missing.map((item) => `${item.component} needs ${item.tool}: ${item.fix}`).join('\n');
}

export class LocalTarget implements Target {
  readonly name = 'local' as const;
  readonly stateDir: string;
  readonly cacheDir: string;
  private readonly rootDir: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly progress: ProgressSink;
  private readonly signal?: AbortSignal;
  private readonly backendsOnly: boolean;
  private readonly components: Record<ComponentName, LocalComponent>;

  constructor(options: LocalTargetOptions) {
    this.rootDir = options.rootDir;
    this.env = options.env;
    this.progress = options.progress;
    this.signal = options.signal;
    this.stateDir = resolve(options.rootDir, options.stateDir ?? DEFAULT_STATE_DIR);
    this.cacheDir = resolveCacheDir(options.env);
    this.backendsOnly = options.backendsOnly === true || options.flags?.['backends-only'] === true;
    this.components = {
      postgres: createPostgresComponent(),
      kafka: createKafkaComponent(),
      qdrant: createQdrantComponent(),
      api: createServiceComponent('api'),
      'kv-writer': createServiceComponent('kv-writer'),
      'vector-indexer': createServiceComponent('vector-indexer'),
    };
  }

  async up(options: UpOptions = {}): Promise<TargetEndpoints> {
    const progress = options.onProgress ?? this.progress;
    return withStateLock(this.stateDir, LOCK_TIMEOUT_MS, async () => {
      const context = { ...this.createContext(progress), applySettings: options.applySettings === true };
      const services = this.wantedServices(progress);
      const missing = (await Promise.all([...BACKEND_COMPONENTS, ...services].map((name) => this.components[name].findMissingTools(context)))).flat();
      if (missing.length > 0) {
        throw usageError(`missing tools for the local target:\n${formatMissingTools(missing)}`, 'install the packages above and run up again');
      }

      const started = new Set<ComponentName>();
      try {
        await this.startGroup(BACKEND_COMPONENTS, context, started);
        if (services.length > 0) await this.startGroup(services, context, started);
      } catch (error) {
        if (!context.signal?.aborted) throw error;
        throw await this.undoInterruptedUp(started, context);
      }
      return this.endpoints(context.state);
    });
  }

  async down(options: DownOptions = {}): Promise<void> {
    if (!existsSync(this.stateDir)) {
      this.progress({ kind: 'info', message: `nothing to stop: ${this.stateDir} does not exist` });
      return;
    }
    await withStateLock(this.stateDir, LOCK_TIMEOUT_MS, async () => {
      const state = readState(this.stateDir);
      const save = () => writeState(this.stateDir, state);
      await Promise.all(SERVICE_COMPONENTS.map((name) => this.stopComponent(name, state, save)));
      await Promise.all(BACKEND_COMPONENTS.map((name) => this.stopComponent(name, state, save)));
      if (options.purge) {
        rmSync(this.stateDir, { recursive: true, force: true });
        this.progress({ kind: 'info', message: `removed ${this.stateDir}` });
      }
    });
  }

  async status(): Promise<ComponentStatus[]> {
    const state = readState(this.stateDir);
    const rows: ComponentStatus[] = [];
    for (const name of ALL_COMPONENTS) {
      const record = state.components[name];
      if (!record) continue;
      const componentState = await this.componentState(record);
      rows.push({
        name,
        address: record.address,
        port: record.port,
        pid: record.pid,
        logPath: record.logPath,
        state: componentState,
        detail: name === 'qdrant' && componentState === 'running' ? await describeRunningQdrant(record) : record.flavour,
        ...(name === 'api' ? describeApiAuth(record) : {}),
      });
    }
    return rows;
  }

  async collectLogs(destDir: string): Promise<string[]> {
    const state = readState(this.stateDir);
    mkdirSync(destDir, { recursive: true });
    const written: string[] = [];
    for (const record of Object.values(state.components)) {
      if (!record || !existsSync(record.logPath)) continue;
      const target = join(destDir, `${record.name}.log`);
      copyFileSync(record.logPath, target);
      written.push(target);
    }
    return written;
  }

  async runAction(action: TargetAction, signal?: AbortSignal): Promise<void> {
    const component = this.actionComponent(action);
    await withStateLock(this.stateDir, LOCK_TIMEOUT_MS, async () => {
      if (action.action === 'stop-component') {
        const state = readState(this.stateDir);
        const requested = action.params?.signal;
        if (requested !== undefined && requested !== 'SIGTERM' && requested !== 'SIGKILL' && requested !== 'SIGINT') {
          throw usageError(`stop-component: unsupported signal ${String(requested)}`, 'use SIGTERM (default), SIGINT or SIGKILL');
        }
        await this.stopComponent(component, state, () => writeState(this.stateDir, state), requested);
        return;
      }
      const context = this.createContext(this.progress, signal);
      await this.ensureRunning(component, context, new Set());
    });
  }

  /** Endpoints from the state file, for callers that did not run `up` themselves. */
  readEndpoints(): TargetEndpoints {
    return this.endpoints(readState(this.stateDir));
  }

  private createContext(progress: ProgressSink, signal = this.signal): StartContext {
    mkdirSync(this.stateDir, { recursive: true });
    // As root, Postgres runs as the postgres user, which must be able to enter this folder.
    if (process.getuid?.() === 0) chmodSync(this.stateDir, 0o755);
    const state = readState(this.stateDir);
    const takenPorts = new Set<number>();
    for (const record of Object.values(state.components)) {
      if (!record) continue;
      takenPorts.add(record.port);
      for (const port of Object.values(record.extraPorts ?? {})) takenPorts.add(port);
    }
    return {
      rootDir: this.rootDir,
      stateDir: this.stateDir,
      cacheDir: this.cacheDir,
      env: this.env,
      progress,
      signal,
      state,
      saveState: () => writeState(this.stateDir, state),
      takenPorts,
    };
  }

  private wantedServices(progress: ProgressSink): ComponentName[] {
    if (this.backendsOnly) return [];
    if (!serviceEntryExists(this.rootDir)) {
      progress({
        kind: 'warn',
        message: `service components not available: ${join(this.rootDir, SERVICE_ENTRY)} does not exist yet, so api, kv-writer and vector-indexer were not started (backends only)`,
      });
      return [];
    }
    return [...SERVICE_COMPONENTS];
  }

  /**
   * Starts the components in parallel; reports every failure and throws the
   * first. After an interruption it reports nothing, because the interrupted
   * `up` reports once what it stopped.
   */
  private async startGroup(names: readonly ComponentName[], context: StartContext, started: Set<ComponentName>): Promise<void> {
    context.signal?.throwIfAborted();
    const results = await Promise.allSettled(names.map((name) => this.ensureRunning(name, context, started)));
    const failures = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failures.length === 0) return;
    if (context.signal?.aborted) throw context.signal.reason;
    for (const failure of failures.slice(1)) {
      context.progress({ kind: 'warn', message: failure.reason instanceof Error ? failure.reason.message : String(failure.reason) });
    }
    throw failures[0]?.reason;
  }

  /**
   * Stops the components that an interrupted `up` started, services first,
   * and returns the error that ends the command. Components that were
   * already running before are left running.
   */
  private async undoInterruptedUp(started: ReadonlySet<ComponentName>, context: StartContext): Promise<InterruptedError> {
    const reason = context.signal?.reason instanceof Error ? context.signal.reason.message : 'interrupted';
    const save = () => writeState(this.stateDir, context.state);
    const services = SERVICE_COMPONENTS.filter((name) => started.has(name));
    const backends = BACKEND_COMPONENTS.filter((name) => started.has(name));
    await Promise.all(services.map((name) => this.stopComponent(name, context.state, save)));
    await Promise.all(backends.map((name) => this.stopComponent(name, context.state, save)));
    const stopped = [...services, ...backends];
    return new InterruptedError(
      stopped.length === 0
        ? `${reason}: up started no process, so nothing was stopped`
        : `${reason}: stopped ${stopped.join(', ')}, which this up had started`,
    );
  }

  /**
   * Reuses a component whose PID is alive, which responds and whose settings
   * are unchanged; otherwise starts or restarts it. A component whose
   * process this call spawned is added to `started`.
   */
  private async ensureRunning(name: ComponentName, context: StartContext, started: Set<ComponentName>): Promise<ComponentRecord> {
    const component = this.components[name];
    const previous = context.state.components[name];
    if (previous?.pid && isPidAlive(previous.pid)) {
      const responds = await component.probe(previous);
      const settingsChange = responds ? component.settingsChange?.(previous, context) : undefined;
      if (responds && settingsChange !== undefined && !context.applySettings) {
        context.progress({
          kind: 'warn',
          message: `${name}: reusing pid ${previous.pid}, which runs with other settings than this environment's (${settingsChange}); \`soma-harness up\` restarts it with them`,
        });
        return previous;
      }
      if (responds && settingsChange === undefined) {
        context.progress({ kind: 'info', message: `${name}: reusing pid ${previous.pid} on ${previous.address}` });
        return previous;
      }
      const restartReason = responds
        ? `its settings differ from those it was started with (${settingsChange})`
        : `pid ${previous.pid} is alive but does not respond on port ${previous.port}`;
      context.progress({ kind: 'warn', message: `${name}: ${restartReason}; restarting it` });
      await stopProcess(previous.pid, { signal: component.stopSignal, graceMs: component.stopGraceMs });
    }
    if (previous) {
      context.takenPorts.delete(previous.port);
      for (const port of Object.values(previous.extraPorts ?? {})) context.takenPorts.delete(port);
    }
    context.signal?.throwIfAborted();
    try {
      return await runStep(context.progress, `start ${name}`, () => component.start(context, previous), (record) => `${record.address}${record.pid ? ` (pid ${record.pid})` : ''}`);
    } finally {
      const pid = context.state.components[name]?.pid;
      if (pid !== undefined && pid !== previous?.pid) started.add(name);
    }
  }

  private async stopComponent(name: ComponentName, state: LocalState, save: () => void, signal?: NodeJS.Signals): Promise<void> {
    const record = state.components[name];
    if (!record?.pid || !record.managed) return;
    const component = this.components[name];
    const started = Date.now();
    const outcome = await stopProcess(record.pid, {
      signal: signal ?? component.stopSignal,
      graceMs: signal === 'SIGKILL' ? 0 : component.stopGraceMs,
    });
    this.progress({ kind: 'step-done', step: `stop ${name}`, durationMs: Date.now() - started, detail: `pid ${record.pid} ${outcome.replace('-', ' ')}` });
    delete record.pid;
    save();
  }

  private async componentState(record: ComponentRecord): Promise<ComponentStatus['state']> {
    if (!record.managed) return (await this.components[record.name].probe(record)) ? 'running' : 'dead';
    if (!record.pid) return 'stopped';
    return isPidAlive(record.pid) ? 'running' : 'dead';
  }

  private actionComponent(action: TargetAction): ComponentName {
    if (!(LOCAL_ACTIONS as readonly string[]).includes(action.action)) {
      throw usageError(`the local target has no action "${action.action}"`, `use one of: ${LOCAL_ACTIONS.join(', ')}`);
    }
    const component = action.params?.component;
    if (typeof component !== 'string' || !(ALL_COMPONENTS as readonly string[]).includes(component)) {
      throw usageError(`${action.action}: unknown component ${JSON.stringify(component)}`, `use one of: ${ALL_COMPONENTS.join(', ')}`);
    }
    return component as ComponentName;
  }

  private endpoints(state: LocalState): TargetEndpoints {
    const { postgres, kafka, qdrant, api } = state.components;
    const metricsUrls: Record<string, string> = {};
    for (const name of SERVICE_COMPONENTS) {
      const record = state.components[name];
      if (record) metricsUrls[name] = `${record.address}/metrics`;
    }
    return {
      target: 'local',
      // Empty when the service components were not started (--backends-only or no service yet).
      apiUrl: api?.address ?? '',
      apiToken: this.env.SOMA_API_TOKEN || undefined,
      postgresUrl: postgres?.address ?? '',
      qdrantUrl: qdrant?.address ?? '',
      qdrantApiKey: this.env.SOMA_QDRANT_API_KEY || undefined,
      kafkaBrokers: kafka ? [kafka.address] : [],
      topic: this.env.SOMA_KAFKA_TOPIC ?? KAFKA_TOPIC,
      consumerGroups: [this.env.SOMA_KV_GROUP ?? KV_GROUP, this.env.SOMA_VECTOR_GROUP ?? VECTOR_GROUP],
      namespace: this.env.SOMA_DEFAULT_NAMESPACE ?? DEFAULT_NAMESPACE,
      metricsUrls: Object.keys(metricsUrls).length > 0 ? metricsUrls : undefined,
    };
  }
}

export function createLocalTarget(options: LocalTargetOptions): LocalTarget {
  return new LocalTarget(options);
}
