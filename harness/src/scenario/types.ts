/**
 * Scenarios and suites after validation: defaults applied, durations in
 * milliseconds. The YAML form is described by schemas/scenario.schema.json.
 */
export type EngineName = 'chunked' | 'autocannon' | 'k6';
export type StoreName = 'postgres' | 'qdrant';

export interface ShapeWeights {
  flat: number;
  coord: number;
}

export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface LoadSpec {
  engine: EngineName;
  items: number;
  chunkSize: number;
  concurrency: number;
  /** Stop sending new requests after this time; undefined means no cap. */
  durationMs?: number;
  /** Maximum items per second; undefined means unlimited. */
  rate?: number;
  seed: string;
  shapes: ShapeWeights;
  /** Undefined means the target's default namespace. */
  namespace?: string;
  invalidItems: number;
  textLength: { min: number; max: number };
  retry: RetryPolicy;
  requestTimeoutMs: number;
  /** Engine-specific settings of the autocannon and k6 engines. */
  options: Record<string, unknown>;
}

/** When an action runs: after a share of the items was acknowledged, or after a time. */
export type ActionTrigger = { kind: 'percent'; percent: number } | { kind: 'elapsed'; ms: number };

export interface ActionSpec {
  /** The `at` text as written, for reports. */
  at: string;
  trigger: ActionTrigger;
  action: string;
  params: Record<string, unknown>;
  /** Whether the load pauses until the action finished. */
  wait: boolean;
}

export interface VerifySpec {
  stores: StoreName[];
  lag: boolean;
  timeoutMs: number;
  pollIntervalMs: number;
  settleMs: number;
  markers: number;
}

export interface Thresholds {
  latencyP50Ms?: number;
  latencyP99Ms?: number;
  minItemsPerSecond?: number;
  consistencyP99Ms?: number;
  drainMs?: number;
  maxFailedItems?: number;
  maxRejectedItems?: number;
}

export interface ValiditySpec {
  maxHarnessCpu: number;
  minAcknowledgedItems: number;
}

export interface Scenario {
  name: string;
  description?: string;
  /** File the scenario was read from. */
  file: string;
  load: LoadSpec;
  actions: ActionSpec[];
  verify: VerifySpec;
  thresholds: Thresholds;
  validity: ValiditySpec;
}

export interface Suite {
  name: string;
  description?: string;
  files: string[];
  scenarios: Scenario[];
}
