/**
 * Verification results: counts over time, lag, time to consistency, the
 * item-by-item reconciliation and one invariant check per property, each with
 * its evidence.
 */
import type { StoreName } from '../scenario/types.js';
import type { ConsistencySummary } from './consistency.js';
import type { LagCurveSummary } from './lag.js';
import type { DiscrepancySample, ReconcileResult } from './reconcile.js';

/** Expected value, found value and where the check looked (the query or API call). */
export interface Evidence {
  expected: string | number;
  found: string | number;
  where: string;
}

export interface InvariantCheck {
  /** Stable name, e.g. `postgres.count`, `lag.soma-kv-writer`, `items.lost`. */
  name: string;
  status: 'passed' | 'failed' | 'skipped';
  /** One sentence with the numbers. */
  message: string;
  evidence: Evidence;
  sample?: DiscrepancySample[];
}

export interface StoreCount {
  store: StoreName;
  expected: number;
  found: number;
  where: string;
  /** Query plan of the count, when the store has one (Postgres). */
  plan?: string;
}

/** One poll: counts per store and total lag, ms since the run started. */
export interface CountPoint {
  tMs: number;
  acknowledged: number;
  postgres?: number;
  qdrant?: number;
  lag?: number;
}

export interface LagReport {
  checked: boolean;
  /** Reason lag was not checked (direct mode, no brokers, switched off). */
  skippedReason?: string;
  where: string;
  summary: LagCurveSummary;
  /** Total and per-group lag over time, ms since the run started. */
  series: { tMs: number; total: number; byGroup: Record<string, number> }[];
  /** Sampling errors (first and count). */
  errors: number;
  lastError?: string;
}

export type VerificationStatus = 'converged' | 'settled' | 'timed-out' | 'aborted';

export interface VerificationResult {
  status: VerificationStatus;
  /** Time from the end of the load to the end of polling. */
  pollMs: number;
  polls: number;
  expectedItems: number;
  counts: StoreCount[];
  countSeries: CountPoint[];
  lag: LagReport;
  consistency: ConsistencySummary[];
  reconciliation: ReconcileResult;
  checks: InvariantCheck[];
  /** Store errors met while polling (the first few). */
  errors: string[];
  /** Problems that do not change the verdict but may explain it, e.g. lag that could not be read for a while; absent in older summaries. */
  warnings?: string[];
}
