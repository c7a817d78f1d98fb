/**
 * The external target: an existing deployment (staging, a developer's own
 * stack) given by flags or environment. It starts and stops nothing. `up` only
 * checks that every endpoint is reachable and names the ones that are not.
 */
import type { ParseArgsConfig } from 'node:util';
import kafkajs from 'kafkajs';
import pg from 'pg';
import { usageError } from '../../exit-codes.js';
import { describeQdrant, fetchQdrantInfo } from '../../report/qdrant-info.js';
import { redactUrl } from '../../verify/postgres-store.js';
import type { TargetOptions } from '../index.js';
import type { ComponentStatus, Target, TargetEndpoints } from '../types.js';

const { Kafka, logLevel } = kafkajs;

export const DEFAULT_TOPIC = 'memory.events';
export const DEFAULT_GROUPS = ['soma-kv-writer', 'soma-vector-indexer'];
export const DEFAULT_NAMESPACE = 'api_ns';
const PROBE_TIMEOUT_MS = 5000;

/** Command-line flags of the external target; each has an environment variable of the same meaning. */
export const EXTERNAL_TARGET_OPTIONS: NonNullable<ParseArgsConfig['options']> = {
  'api-url': { type: 'string' },
  'postgres-url': { type: 'string' },
  'qdrant-url': { type: 'string' },
  'kafka-brokers': { type: 'string' },
  topic: { type: 'string' },
  'consumer-groups': { type: 'string' },
  namespace: { type: 'string' },
  'metrics-urls': { type: 'string' },
};

/** Help text for the flags above, shared by the commands that accept them. */
export const EXTERNAL_TARGET_HELP = `
External target (--target external): endpoints of a running deployment.
  --api-url URL          API base URL                       (SOMA_API_URL)
  --postgres-url URL     Postgres holding public.kv_store   (SOMA_POSTGRES_URL)
  --qdrant-url URL       Qdrant REST base URL               (SOMA_QDRANT_URL; key: SOMA_QDRANT_API_KEY)
  --kafka-brokers LIST   host:port,... for consumer lag     (SOMA_KAFKA_BROKERS; optional, lag is skipped without)
  --topic NAME           topic the API produces to          (SOMA_KAFKA_TOPIC, default ${DEFAULT_TOPIC})
  --consumer-groups LIST groups whose lag must drain        (default ${DEFAULT_GROUPS.join(',')}; SOMA_KV_GROUP, SOMA_VECTOR_GROUP)
  --namespace NAME       default namespace (collection)     (SOMA_DEFAULT_NAMESPACE, default ${DEFAULT_NAMESPACE})
  --metrics-urls LIST    /metrics to scrape, name=URL,...   (SOMA_METRICS_URLS; optional, default the API's;
                         e.g. api=http://h:9595/metrics,kv-writer=http://h:9596/metrics; every name
                         but api is read as a consumer: its batches, writes and lag)
  The API token is read from SOMA_API_TOKEN only, so it never shows in the process list.
`;

interface Setting {
  flag: string;
  env: string;
}

const SETTINGS = {
  api: { flag: '--api-url', env: 'SOMA_API_URL' },
  postgres: { flag: '--postgres-url', env: 'SOMA_POSTGRES_URL' },
  qdrant: { flag: '--qdrant-url', env: 'SOMA_QDRANT_URL' },
} satisfies Record<string, Setting>;

function flagValue(options: TargetOptions, name: string): string | undefined {
  const value = options.flags?.[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function split(list: string | undefined): string[] {
  return (list ?? '').split(',').map((entry) => entry.trim()).filter((entry) => entry.length > 0);
}

/** Parses `name=URL,...` of --metrics-urls or SOMA_METRICS_URLS; undefined when not given. */
export function parseMetricsUrls(text: string | undefined): Record<string, string> | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const urls: Record<string, string> = {};
  for (const entry of split(text)) {
    const separator = entry.indexOf('=');
    const name = separator > 0 ? entry.slice(0, separator).trim() : '';
    const url = entry.slice(separator + 1).trim();
    let protocol = '';
    try {
      protocol = new URL(url).protocol;
    } catch {
      // Reported below with the entry.
    }
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) || (protocol !== 'http:' && protocol !== 'https:')) {
      throw usageError(
        `--metrics-urls entry "${entry}" is not name=URL`,
        'pass component names and http(s) URLs, e.g. --metrics-urls api=http://127.0.0.1:9595/metrics,kv-writer=http://127.0.0.1:9596/metrics',
      );
    }
    urls[name] = url;
  }
  return urls;
}

/** Resolves endpoints from flags first, then the environment; names every missing required one. */
export function resolveExternalEndpoints(options: TargetOptions): TargetEndpoints {
  const env = options.env;
  const apiUrl = flagValue(options, 'api-url') ?? env.SOMA_API_URL;
  const postgresUrl = flagValue(options, 'postgres-url') ?? env.SOMA_POSTGRES_URL;
  const qdrantUrl = flagValue(options, 'qdrant-url') ?? env.SOMA_QDRANT_URL;
  const missing = (
    [
      [apiUrl, SETTINGS.api],
      [postgresUrl, SETTINGS.postgres],
      [qdrantUrl, SETTINGS.qdrant],
    ] as [string | undefined, Setting][]
  )
    .filter(([value]) => !value)
    .map(([, setting]) => `${setting.flag} or ${setting.env}`);
  if (missing.length > 0) {
    throw usageError(`the external target needs ${missing.join(', ')}`, 'pass the flags or set the environment variables; see soma-harness run --help');
  }
  const groups = split(flagValue(options, 'consumer-groups'));
  return {
    target: 'external',
    apiUrl: (apiUrl as string).replace(/\/+$/, ''),
    apiToken: env.SOMA_API_TOKEN || undefined,
    postgresUrl: postgresUrl as string,
    qdrantUrl: (qdrantUrl as string).replace(/\/+$/, ''),
    qdrantApiKey: env.SOMA_QDRANT_API_KEY || undefined,
    kafkaBrokers: split(flagValue(options, 'kafka-brokers') ?? env.SOMA_KAFKA_BROKERS),
    topic: flagValue(options, 'topic') ?? env.SOMA_KAFKA_TOPIC ?? DEFAULT_TOPIC,
    consumerGroups: groups.length > 0 ? groups : [env.SOMA_KV_GROUP ?? DEFAULT_GROUPS[0], env.SOMA_VECTOR_GROUP ?? DEFAULT_GROUPS[1]] as string[],
    namespace: flagValue(options, 'namespace') ?? env.SOMA_DEFAULT_NAMESPACE ?? DEFAULT_NAMESPACE,
    metricsUrls: parseMetricsUrls(flagValue(options, 'metrics-urls') ?? env.SOMA_METRICS_URLS),
  };
}

interface ProbeResult {
  name: string;
  address: string;
  ok: boolean;
  detail: string;
}

async function probeHttp(name: string, url: string, headers: Record<string, string> = {}): Promise<ProbeResult> {
  try {
    const response = await fetch(url, { headers, signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    await response.arrayBuffer();
    return { name, address: url, ok: response.ok, detail: `HTTP ${response.status}` };
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return { name, address: url, ok: false, detail: cause?.code ?? cause?.message ?? (error as Error).message };
  }
}

async function probePostgres(url: string): Promise<ProbeResult> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: PROBE_TIMEOUT_MS });
  const address = redactUrl(url);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return { name: 'postgres', address, ok: true, detail: 'SELECT 1 answered' };
  } catch (error) {
    return { name: 'postgres', address, ok: false, detail: (error as Error).message || String(error) };
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function probeKafka(brokers: string[]): Promise<ProbeResult> {
  const kafka = new Kafka({
    clientId: 'soma-harness-preflight',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: PROBE_TIMEOUT_MS,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  const address = brokers.join(',');
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return { name: 'kafka', address, ok: true, detail: `${cluster.brokers.length} broker(s)` };
  } catch (error) {
    return { name: 'kafka', address, ok: false, detail: (error as Error).message };
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Probes every endpoint in parallel. */
export async function probeEndpoints(endpoints: TargetEndpoints): Promise<ProbeResult[]> {
  const qdrantHeaders: Record<string, string> = endpoints.qdrantApiKey ? { 'api-key': endpoints.qdrantApiKey } : {};
  const probes = [
    probeHttp('api', `${endpoints.apiUrl}/healthz`),
    probePostgres(endpoints.postgresUrl),
    probeHttp('qdrant', `${endpoints.qdrantUrl}/collections`, qdrantHeaders),
  ];
  if (endpoints.kafkaBrokers.length > 0) probes.push(probeKafka(endpoints.kafkaBrokers));
  return Promise.all(probes);
}

function portOf(address: string): number {
  const match = /:(\d+)(?:[/?]|$)/.exec(address.split(',')[0] ?? '');
  return match ? Number(match[1]) : 0;
}

export class ExternalTarget implements Target {
  readonly name = 'external' as const;

  constructor(private readonly options: TargetOptions) {}

  /** Checks that every endpoint is reachable; throws a usage error (exit 2) naming each one that is not. */
  async up(): Promise<TargetEndpoints> {
    const endpoints = resolveExternalEndpoints(this.options);
    const results = await probeEndpoints(endpoints);
    const failed = results.filter((result) => !result.ok);
    if (failed.length > 0) {
      const lines = failed.map((result) => `${result.name} at ${result.address}: ${result.detail}`);
      throw usageError(
        `external target unreachable: ${failed.map((result) => result.name).join(', ')}\n  ${lines.join('\n  ')}`,
        'check the URLs (flags or SOMA_* variables) and that the deployment is up, or port-forward it',
      );
    }
    for (const result of results) this.options.progress({ kind: 'info', message: `${result.name}: ${result.address} is reachable (${result.detail})` });
    return endpoints;
  }

  /** Nothing to stop: the external target created nothing. */
  async down(): Promise<void> {
    this.options.progress({ kind: 'info', message: 'external target: nothing to stop, the harness started nothing there' });
  }

  async status(): Promise<ComponentStatus[]> {
    const endpoints = resolveExternalEndpoints(this.options);
    const [results, qdrant] = await Promise.all([probeEndpoints(endpoints), fetchQdrantInfo(endpoints.qdrantUrl, endpoints.qdrantApiKey, PROBE_TIMEOUT_MS)]);
    const qdrantDetail = qdrant ? describeQdrant(qdrant) : undefined;
    return results.map((result) => ({
      name: result.name,
      address: result.address,
      port: portOf(result.address),
      state: result.ok ? 'running' : 'dead',
      detail: result.name === 'qdrant' && qdrantDetail ? `${result.detail}; ${qdrantDetail}` : result.detail,
    }));
  }

  /** Returns no logs, because the harness cannot read an external deployment's logs. */
  async collectLogs(): Promise<string[]> {
    return [];
  }
}

export function createExternalTarget(options: TargetOptions): Target {
  return new ExternalTarget(options);
}
