/** Names, paths and ports of the kind target, resolved once from options and environment. */
import { join, resolve } from 'node:path';
import { usageError } from '../../exit-codes.js';

export const CLUSTER_NAME = 'soma-cluster';
export const RELEASE_NAME = 'soma-memory';
export const NAMESPACE = 'soma';
/** "<release>-<chart>", the base name of every object the chart creates. */
export const FULLNAME = 'soma-memory-somafractalmemory';
export const CHART_LABEL = 'app.kubernetes.io/name=somafractalmemory';
export const IMAGE_REPOSITORY = 'soma-memory';
/** Host port that kind/cluster.yaml maps to the Kafka EXTERNAL NodePort. */
export const KAFKA_EXTERNAL_PORT = 30092;
export const DEFAULT_TOPIC = 'memory.events';
export const DEFAULT_GROUPS = ['soma-kv-writer', 'soma-vector-indexer'];
export const DEFAULT_NAMESPACE = 'api_ns';
export const POSTGRES_USER = 'soma';
export const POSTGRES_DATABASE = 'soma';

/** Default time for `helm --wait` and each `kubectl rollout status`. */
export const DEFAULT_ROLLOUT_TIMEOUT_SECONDS = 600;

export interface ForwardSpec {
  /** Name of the PID and log files, and of the component in `status`. */
  name: 'api' | 'postgres' | 'qdrant';
  service: string;
  localPort: number;
  remotePort: number;
}

export interface KindSettings {
  rootDir: string;
  stateDir: string;
  kubeconfigPath: string;
  chartDir: string;
  valuesFile: string;
  clusterConfig: string;
  /** Base image passed as NODE_IMAGE to the Dockerfile; undefined keeps the Dockerfile default. */
  nodeImage?: string;
  rolloutTimeoutSeconds: number;
  /** Folder for pod logs and events when `up` fails. */
  diagnosticsDir?: string;
  forwards: ForwardSpec[];
}

function readPort(env: NodeJS.ProcessEnv, key: string, fallback: number): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw usageError(`${key}=${raw} is not a TCP port`, `set ${key} to a free port between 1 and 65535`);
  }
  return port;
}

function readSeconds(env: NodeJS.ProcessEnv, key: string, fallback: number): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  const seconds = Number(raw);
  if (!Number.isInteger(seconds) || seconds < 1) {
    throw usageError(`${key}=${raw} is not a whole number of seconds`, `set ${key} to e.g. 600`);
  }
  return seconds;
}

export function resolveKindSettings(options: {
  rootDir: string;
  env: NodeJS.ProcessEnv;
  stateDir?: string;
  flags?: Record<string, string | boolean | undefined>;
}): KindSettings {
  const { rootDir, env } = options;
  const stateDir = resolve(rootDir, options.stateDir ?? env.SOMA_KIND_STATE_DIR ?? '.soma/kind');
  const reportDir = options.flags?.['report-dir'];
  return {
    rootDir,
    stateDir,
    kubeconfigPath: join(stateDir, 'kubeconfig'),
    chartDir: './helm',
    valuesFile: 'helm/values-kind.yaml',
    clusterConfig: 'kind/cluster.yaml',
    nodeImage: env.SOMA_NODE_IMAGE || undefined,
    rolloutTimeoutSeconds: readSeconds(env, 'SOMA_KIND_ROLLOUT_TIMEOUT', DEFAULT_ROLLOUT_TIMEOUT_SECONDS),
    diagnosticsDir: typeof reportDir === 'string' ? resolve(rootDir, reportDir) : env.SOMA_REPORT_DIR || undefined,
    forwards: [
      { name: 'api', service: FULLNAME, localPort: readPort(env, 'SOMA_KIND_API_PORT', 9595), remotePort: 9595 },
      { name: 'postgres', service: `${FULLNAME}-postgres`, localPort: readPort(env, 'SOMA_KIND_POSTGRES_PORT', 15432), remotePort: 5432 },
      { name: 'qdrant', service: `${FULLNAME}-qdrant`, localPort: readPort(env, 'SOMA_KIND_QDRANT_PORT', 16333), remotePort: 6333 },
    ],
  };
}
