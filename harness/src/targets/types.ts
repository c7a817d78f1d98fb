/**
 * The contract every target (kind, local, external) fulfils. Load engines,
 * verification and reports only see these endpoints, never how they were made.
 */
export type TargetName = 'kind' | 'local' | 'external';

/** Endpoints of a running deployment, as reachable from the harness process. */
export interface TargetEndpoints {
  target: TargetName;
  /** Base URL of the ingest API, e.g. http://127.0.0.1:9595 */
  apiUrl: string;
  /** Bearer token for the API; undefined when the API runs without auth. */
  apiToken?: string;
  /** libpq connection URL of the Postgres that holds public.kv_store. */
  postgresUrl: string;
  /** Base URL of the Qdrant REST API. */
  qdrantUrl: string;
  qdrantApiKey?: string;
  /** Kafka bootstrap brokers reachable from the harness, host:port each. */
  kafkaBrokers: string[];
  /** Topic that the API produces to. */
  topic: string;
  /** Consumer groups whose lag verification drains to zero. */
  consumerGroups: string[];
  /** Namespace (and Qdrant collection) that scenarios write to unless they name one. */
  namespace: string;
  /**
   * Prometheus /metrics URL per service component, e.g. {api, kv-writer,
   * vector-indexer}, scraped during a run. `api` gives the request figures;
   * every other entry is a consumer whose batches, writes and lag are
   * scraped. Undefined means only `${apiUrl}/metrics`.
   */
  metricsUrls?: Record<string, string>;
}

/** One running component of a target, as `status --json` prints it. */
export interface ComponentStatus {
  name: string;
  /** Connection URL, broker list or base URL. */
  address: string;
  port: number;
  pid?: number;
  logPath?: string;
  state: 'running' | 'stopped' | 'dead';
  /** How the component runs, e.g. "qdrant-edge stand-in (qdrant-edge-py 0.9.0)". */
  detail?: string;
  /**
   * API component: whether requests need a bearer token, the one in
   * `authTokenVariable`. Set by the local target only.
   */
  authRequired?: boolean;
  /** Name of the environment variable the harness reads the API token from (SOMA_API_TOKEN), never its value. */
  authTokenVariable?: string;
}

export interface UpOptions {
  /** Called for each progress step; see harness/src/progress.ts. */
  onProgress?: (event: import('../progress.js').ProgressEvent) => void;
  /**
   * Restart running service processes whose settings differ from this
   * environment's, as the `up` command does. Without it they are reused as
   * found, with a warning, so `run` leaves the target as it found it.
   */
  applySettings?: boolean;
}

export interface DownOptions {
  /** Also delete the data the target created (state directory, cluster). */
  purge?: boolean;
}

/**
 * A fault or lifecycle step that a scenario triggers during its load, e.g.
 * `{ action: 'stop-component', params: { component: 'vector-indexer' } }` on the
 * local target or `{ action: 'helm-upgrade', params: { imageTag: '...' } }` on kind.
 */
export interface TargetAction {
  action: string;
  params?: Record<string, unknown>;
}

export interface Target {
  readonly name: TargetName;
  up(options?: UpOptions): Promise<TargetEndpoints>;
  down(options?: DownOptions): Promise<void>;
  status(): Promise<ComponentStatus[]>;
  /** Copy the logs of every component into `destDir`; returns the written paths. */
  collectLogs(destDir: string): Promise<string[]>;
  /** Runs a scenario action; a target without the action throws a usage error naming the actions it has. */
  runAction?(action: TargetAction, signal?: AbortSignal): Promise<void>;
}
