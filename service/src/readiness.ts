/**
 * Readiness of the service: one periodic probe per dependency the role and
 * mode use, plus the draining flag set on SIGTERM. /readyz reports the cached
 * probe results, and store requests fail fast with 503 while a dependency
 * they need is down. Recovery needs no restart: the probes keep running.
 */
import type { Logger } from 'pino';
import { somaError } from './errors.js';

export type DependencyName = 'kafka' | 'postgres' | 'qdrant';

export const PROBE_INTERVAL_MS = 1_000;
export const PROBE_TIMEOUT_MS = 5_000;

/** A probe resolves with a short description when the dependency is usable and throws otherwise. */
export type Probe = () => Promise<string>;

export interface CheckResult {
  ok: boolean;
  detail: string;
}

export interface ReadinessSnapshot {
  status: 'ready' | 'not_ready';
  draining: boolean;
  checks: Partial<Record<DependencyName, CheckResult>>;
}

export interface Readiness {
  snapshot(): ReadinessSnapshot;
  /** Throws a 503 SomaError when one of `dependencies` is down. Draining alone does not reject requests. */
  require(dependencies: readonly DependencyName[]): void;
  /** Marks a dependency down after a failed request and probes it again at once. */
  reportFailure(dependency: DependencyName, detail: string): void;
  /** Runs every probe once and waits for the results. */
  refresh(): Promise<void>;
  setDraining(): void;
  isDraining(): boolean;
  start(): void;
  stop(): void;
}

function describe(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return describe(error.errors[0]);
  return error instanceof Error ? error.message : String(error);
}

function withTimeout<T>(promise: Promise<T>, ms: number, dependency: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${dependency} probe timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function createReadiness(options: {
  probes: Partial<Record<DependencyName, Probe>>;
  log: Logger;
  intervalMs?: number;
}): Readiness {
  const { log } = options;
  const probes = Object.entries(options.probes) as [DependencyName, Probe][];
  const results = new Map<DependencyName, CheckResult>();
  const running = new Map<DependencyName, Promise<void>>();
  let draining = false;
  let timer: NodeJS.Timeout | undefined;

  for (const [name] of probes) results.set(name, { ok: false, detail: 'not checked yet' });

  function record(name: DependencyName, result: CheckResult): void {
    const previous = results.get(name);
    results.set(name, result);
    if (previous?.ok === result.ok) return;
    if (result.ok) log.info({ dependency: name, detail: result.detail }, 'dependency ready');
    else log.warn({ dependency: name, detail: result.detail }, 'dependency not ready');
  }

  function probeOnce(name: DependencyName, probe: Probe): Promise<void> {
    const active = running.get(name);
    if (active !== undefined) return active;
    const run = withTimeout(probe(), PROBE_TIMEOUT_MS, name)
      .then((detail) => record(name, { ok: true, detail }))
      .catch((error: unknown) => record(name, { ok: false, detail: describe(error) }))
      .finally(() => running.delete(name));
    running.set(name, run);
    return run;
  }

  async function refresh(): Promise<void> {
    await Promise.all(probes.map(([name, probe]) => probeOnce(name, probe)));
  }

  return {
    snapshot() {
      const checks: ReadinessSnapshot['checks'] = {};
      let ok = !draining;
      for (const [name, result] of results) {
        checks[name] = { ...result };
        ok &&= result.ok;
      }
      return { status: ok ? 'ready' : 'not_ready', draining, checks };
    },

    require(dependencies) {
      for (const dependency of dependencies) {
        const result = results.get(dependency);
        if (result !== undefined && !result.ok) {
          throw somaError('SOMA_ERR_DEPENDENCY_UNAVAILABLE', { dependency, detail: result.detail });
        }
      }
    },

    reportFailure(dependency, detail) {
      if (!results.has(dependency)) return;
      record(dependency, { ok: false, detail });
      const probe = options.probes[dependency];
      if (probe !== undefined) void probeOnce(dependency, probe);
    },

    refresh,

    setDraining() {
      draining = true;
    },

    isDraining() {
      return draining;
    },

    start() {
      if (timer !== undefined) return;
      void refresh();
      timer = setInterval(() => void refresh(), options.intervalMs ?? PROBE_INTERVAL_MS);
      timer.unref();
    },

    stop() {
      clearInterval(timer);
      timer = undefined;
    },
  };
}
