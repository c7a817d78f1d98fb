/**
 * The contract between load engines (chunked, autocannon, k6) and the rest of
 * the harness. Verification consumes `LoadResult.acknowledged`; reports and
 * thresholds read the latency histogram, throughput and outcome counts.
 */
import type { TargetEndpoints } from '../targets/types.js';
import type { EngineName, LoadSpec, Thresholds } from '../scenario/types.js';
import type { Histogram } from './latency.js';
import type { ThroughputBucket } from './throughput.js';
import type { ThresholdResult } from '../verify/thresholds.js';

/** An item the API acknowledged (listed in `ids` of a 2xx response). */
export interface AcknowledgedItem {
  id: string;
  /** Position of the item in the run's generated sequence; -1 when the engine does not generate items by seq. */
  seq: number;
  /** Wall-clock time (epoch milliseconds) when the acknowledging response arrived. */
  ackAtMs: number;
  /** Content hash of the payload the service stores for this item (see service/src/events/content-hash.ts). */
  expectedHash: string;
}

/** An item the API rejected by index (4xx for this item only, or listed in `rejected`). */
export interface RejectedItem {
  id: string;
  seq: number;
  status: number;
  code: string;
  message: string;
}

/** An item whose request failed for good (retries exhausted, a non-retriable error, or the load ended). */
export interface FailedItem {
  id: string;
  seq: number;
  attempts: number;
  /** The last error: an HTTP status with its code, or a network error. */
  reason: string;
}

export interface RequestCounts {
  /** Every HTTP attempt, retries included. */
  total: number;
  /** Attempts that returned 2xx. */
  succeeded: number;
  /** Attempts that were retries of an earlier one. */
  retried: number;
  /** Attempts that ended in a network error or timeout (no HTTP status). */
  networkErrors: number;
  /** Count per HTTP status code, e.g. {"202": 10, "429": 2}. */
  byStatus: Record<string, number>;
}

/** Outcome of one request of the load (a chunk for the chunked engine) over all its attempts. */
export interface ChunkOutcome {
  index: number;
  /** Seq of the first item and the number of items. */
  firstSeq: number;
  size: number;
  attempts: number;
  /** Status of the last attempt; 0 for a network error or an item never sent. */
  status: number;
  /** Latency of the last attempt in milliseconds. */
  latencyMs: number;
  acknowledged: number;
  rejected: number;
  failed: number;
}

export interface LoadProgress {
  totalItems: number;
  /** Items in requests sent at least once. */
  sentItems: number;
  acknowledgedItems: number;
  rejectedItems: number;
  failedItems: number;
  retries: number;
  elapsedMs: number;
}

/** Callbacks an engine calls during the load. */
export interface LoadHooks {
  /** Awaited before each request, so a hook may hold the load (an action with `wait: true`). */
  beforeRequest?(progress: LoadProgress): Promise<void> | void;
  /** Called after each request completed (also after a retry was scheduled). */
  onProgress?(progress: LoadProgress): void;
  /** Called with the items of each acknowledging response, as they arrive. */
  onAcknowledged?(items: readonly AcknowledgedItem[]): void;
}

export interface LoadRunContext {
  endpoints: TargetEndpoints;
  runId: string;
  /** Namespace (Qdrant collection) every item is written to. */
  namespace: string;
  signal: AbortSignal;
  hooks?: LoadHooks;
  /** Wall clock in epoch milliseconds; injectable for tests. */
  now?: () => number;
  /** The scenario's thresholds, for engines that judge them themselves too (k6). */
  thresholds?: Thresholds;
}

export interface LoadResult {
  engine: EngineName;
  runId: string;
  namespace: string;
  /** `mode` from the API's responses; `mixed` if responses disagreed, `unknown` if none succeeded. */
  mode: 'evented' | 'direct' | 'mixed' | 'unknown';
  startedAtMs: number;
  endedAtMs: number;
  totalItems: number;
  acknowledged: AcknowledgedItem[];
  rejected: RejectedItem[];
  failed: FailedItem[];
  /** Items never sent because the load stopped early (duration cap or abort). */
  notSent: number;
  requests: RequestCounts;
  /** Per-request outcomes; engines that do not send chunks leave it empty. */
  chunks: ChunkOutcome[];
  /** Latency of 2xx responses, microseconds. */
  latency: Histogram;
  throughput: ThroughputBucket[];
  /** Facts the report shows beside the numbers, e.g. how latency was measured. */
  notes: string[];
  /** Reasons the engine itself found the run invalid (exit 4), e.g. a fixed arrival rate it did not reach. */
  invalidReasons?: string[];
  /** Thresholds the engine judged itself (k6 thresholds); the verdict counts them with the scenario's own. */
  engineThresholds?: ThresholdResult[];
}

/** A load engine. Each engine lives in harness/src/load/<name>-engine.ts. */
export interface LoadEngine {
  readonly name: EngineName;
  run(spec: LoadSpec, context: LoadRunContext): Promise<LoadResult>;
}
