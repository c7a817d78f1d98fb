/**
 * Readiness of the service: one periodic probe per dependency the role and
 * mode use, conditions that fail a dependency's check from outside its probe
 * (a writer whose writes keep failing), plus the draining flag set on
 * SIGTERM. /readyz reports the cached probe results and the conditions, and
 * store requests fail fast with 503 while a probe finds a dependency they
 * need down. Recovery needs no restart: the probes keep running.
 */
import type { Logger } from 'pino';
import { somaError } from './errors.js';

export type DependencyName = 'kafka' | 'postgres' | 'qdrant';

export const PROBE_INTERVAL_MS = 1_000;
export const PROBE_TIMEOUT_MS = 5_000;

/** A probe resolves with a short description when the dependency is usable and throws otherwise. */
export type Probe = () => Promise<string>;

/**
 * A condition returns a description of a failure that the dependency's probe
 * cannot see, such as a writer stuck on failing writes, and undefined while
 * there is none. /readyz evaluates it on every request.
 */
export type Condition = () => string | undefined;

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
  /**
   * Adds a condition to `dependency`'s check: while it returns a failure,
   * /readyz reports the check as failed with that detail. Store requests
   * are not rejected for it, because they need only the probe's result.
   */
  addCondition(dependency: DependencyName, condition: Condition): void;
  /** Marks a dependency down after a failed request and probes it again at once. */
  reportFailure(dependency: DependencyName, detail: string): void;
  /** Runs every probe once and waits for the results. */
  refresh(): Promise<void>;
  setDraining(): void;
  isDraining(): boolean;
  start(): void;
  stop(): void;
}

/** Plain words for the socket error codes of Node.js and undici that mean a dependency cannot be reached. */
const NETWORK_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by the peer',
  ETIMEDOUT: 'connection timed out',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EPIPE: 'connection closed by the peer',
  UND_ERR_SOCKET: 'connection closed by the peer',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
};

/** Wrapper messages without the reason of the failure, which their cause contains. */
const GENERIC_MESSAGES = new Set(['', 'fetch failed', 'AggregateError']);

const SETTINGS: Record<DependencyName, { product: string; variable: string }> = {
  kafka: { product: 'Kafka', variable: 'SOMA_KAFKA_BROKERS' },
  postgres: { product: 'Postgres', variable: 'SOMA_POSTGRES_URL' },
  qdrant: { product: 'Qdrant', variable: 'SOMA_QDRANT_URL' },
};

interface ErrorFields {
  message?: unknown;
  code?: unknown;
  address?: unknown;
  port?: unknown;
  cause?: unknown;
  originalError?: unknown;
  errors?: unknown;
}

/** Lists an error and its causes, outermost first: `cause`, kafkajs `originalError` and the first of `errors`. */
function causeChain(error: unknown): ErrorFields[] {
  const chain: ErrorFields[] = [];
  let current: unknown = error;
  while (current !== null && typeof current === 'object' && chain.length < 10 && !chain.includes(current as ErrorFields)) {
    const fields = current as ErrorFields;
    chain.push(fields);
    const first = Array.isArray(fields.errors) ? (fields.errors[0] as unknown) : undefined;
    current = fields.cause ?? fields.originalError ?? first;
  }
  return chain;
}

/** Finds the socket error in a cause chain: its plain reason, code and address. */
function networkFailure(error: unknown): { reason: string; code: string; address: string | undefined } | undefined {
  for (const fields of causeChain(error)) {
    const code = typeof fields.code === 'string' ? fields.code : undefined;
    if (code === undefined || NETWORK_ERRORS[code] === undefined) continue;
    const address = typeof fields.address === 'string' ? `${fields.address}${fields.port === undefined ? '' : `:${String(fields.port)}`}` : undefined;
    return { reason: NETWORK_ERRORS[code], code, address };
  }
  return undefined;
}

/**
 * Describes a failed call to a dependency in one line: the socket error in
 * plain words with its code and address, or else the first message of the
 * cause chain that is more than a wrapper such as "fetch failed".
 */
export function describeFailure(error: unknown): string {
  const network = networkFailure(error);
  if (network !== undefined) return `${network.reason} (${network.code}${network.address === undefined ? '' : ` ${network.address}`})`;
  for (const fields of causeChain(error)) {
    const message = typeof fields.message === 'string' ? fields.message : '';
    if (!GENERIC_MESSAGES.has(message)) return message;
  }
  return String(error);
}

/**
 * Removes the user name and password from a URL, so that a readiness detail
 * or a log line can name the endpoint. Text before an `@` that follows the
 * scheme is removed too, for values that the URL parser reads differently.
 */
export function redactEndpoint(endpoint: string): string {
  let text = endpoint;
  try {
    const url = new URL(endpoint);
    if (url.username !== '' || url.password !== '') {
      url.username = '';
      url.password = '';
      text = url.toString();
      // URL adds a "/" path to a bare origin; keep the endpoint as configured.
      if (!endpoint.endsWith('/') && text.endsWith('/')) text = text.slice(0, -1);
    }
  } catch {
    // Not a URL, such as a Kafka broker list; the pattern below still applies.
  }
  return text.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)?[^@/\s]*@/, '$1');
}

/** Removes the user name and password from every URL in `text`, such as an error message that quotes a connection string. */
export function redactCredentialsInText(text: string): string {
  return text.replace(/\b([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^@/\s]*@/g, '$1');
}

/** Thrown by withTimeout, so that the readiness detail can report that the dependency did not respond. */
class ProbeTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
  }
}

/** Builds the readiness detail of a failed probe: which dependency, where, what failed and what to check. */
export function describeProbeFailure(name: DependencyName, error: unknown, endpoint: string | undefined): string {
  const { product, variable } = SETTINGS[name];
  const network = networkFailure(error);
  const where = endpoint ?? network?.address;
  const at = where === undefined ? '' : ` at ${where}`;
  if (network !== undefined) {
    const code = `${network.code}${network.address === undefined ? '' : ` ${network.address}`}`;
    return `${name}${at} is unreachable: ${network.reason} (${code}); check that ${product} is running and ${variable} names it`;
  }
  if (error instanceof ProbeTimeoutError) {
    return `${name}${at} did not answer within ${error.timeoutMs} ms; check that ${product} is running and ${variable} names it`;
  }
  const message = describeFailure(error);
  return where === undefined || message.includes(where) ? message : `${name}${at}: ${message}`;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ProbeTimeoutError(ms)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function createReadiness(options: {
  probes: Partial<Record<DependencyName, Probe>>;
  log: Logger;
  intervalMs?: number;
  /** Address of each dependency (broker list or URL) for the details of failed probes; credentials are removed. */
  endpoints?: Partial<Record<DependencyName, string | undefined>>;
}): Readiness {
  const { log } = options;
  const probes = Object.entries(options.probes) as [DependencyName, Probe][];
  const results = new Map<DependencyName, CheckResult>();
  const running = new Map<DependencyName, Promise<void>>();
  const conditions: { dependency: DependencyName; condition: Condition }[] = [];
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
    const endpoint = options.endpoints?.[name];
    const run = withTimeout(probe(), PROBE_TIMEOUT_MS)
      .then((detail) => record(name, { ok: true, detail }))
      .catch((error: unknown) => {
        record(name, { ok: false, detail: describeProbeFailure(name, error, endpoint === undefined ? undefined : redactEndpoint(endpoint)) });
      })
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
      for (const [name, result] of results) checks[name] = { ...result };
      for (const { dependency, condition } of conditions) {
        const failure = condition();
        if (failure === undefined) continue;
        const check = checks[dependency];
        checks[dependency] = { ok: false, detail: check === undefined || check.ok ? failure : `${check.detail}; ${failure}` };
      }
      let ok = !draining;
      for (const check of Object.values(checks)) ok &&= check.ok;
      return { status: ok ? 'ready' : 'not_ready', draining, checks };
    },

    addCondition(dependency, condition) {
      conditions.push({ dependency, condition });
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
      const endpoint = options.endpoints?.[dependency];
      const where = endpoint === undefined ? undefined : redactEndpoint(endpoint);
      const named = where === undefined || detail.includes(where) ? detail : `${dependency} at ${where}: ${detail}`;
      record(dependency, { ok: false, detail: named });
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
