/**
 * Verification of one run. Polling starts with the load, so time to
 * consistency and the lag curve cover the whole run. After the load, polling
 * goes on until the stores converge, settle (lag zero and counts unchanged for
 * `settleMs`) or `timeoutMs` passes. Then the run is reconciled item by item.
 */
import { sleep } from '../load/retry.js';
import type { AcknowledgedItem, LoadResult } from '../load/types.js';
import type { StoreName, VerifySpec } from '../scenario/types.js';
import type { TargetEndpoints } from '../targets/types.js';
import { buildChecks } from './checks.js';
import { createConsistencyTracker, type ConsistencyTracker } from './consistency.js';
import { createLagReader, type LagReader } from './kafka-lag.js';
import { summarizeLagCurve, type LagSample } from './lag.js';
import { COUNT_SQL, LIST_SQL, createPostgresStore, type PostgresStore } from './postgres-store.js';
import { createQdrantStore, type QdrantStore } from './qdrant-store.js';
import { reconcile, type StoreSnapshot } from './reconcile.js';
import type { CountPoint, LagReport, StoreCount, VerificationResult, VerificationStatus } from './types.js';

export interface VerifierOptions {
  endpoints: TargetEndpoints;
  runId: string;
  namespace: string;
  spec: VerifySpec;
  plannedItems: number;
  /** Epoch ms that series times are relative to. */
  runStartMs: number;
  /** Called after every poll with a one-line status. */
  onPoll?: (status: string) => void;
  now?: () => number;
}

/** Store readers; injectable so a test can point them elsewhere. */
export interface VerifierStores {
  postgres?: PostgresStore;
  qdrant?: QdrantStore;
  lag?: LagReader;
}

const MAX_ERRORS_KEPT = 5;
/**
 * Failed lag samples in a row from which the failure is reported as a
 * warning. Fewer are passing leadership or metadata changes: the lag check
 * judges the last sample that succeeded, and convergence waits for one.
 */
const LAG_FAILURES_REPORTED = 3;

export class Verifier {
  private readonly now: () => number;
  private readonly tracker: ConsistencyTracker;
  private readonly acknowledged = new Set<string>();
  private readonly countSeries: CountPoint[] = [];
  private readonly lagSamples: LagSample[] = [];
  private readonly errors: string[] = [];
  private lagEnabled: boolean;
  private lagSkippedReason: string | undefined;
  private loadEndMs: number | undefined;
  private stopRequested = false;
  private loop: Promise<VerificationStatus> | undefined;
  private lastCounts: Partial<Record<StoreName, number>> = {};
  private lastChangeMs = 0;
  private lastSignature = '';
  private polls = 0;
  private lagFailuresInRow = 0;
  private maxLagFailuresInRow = 0;
  private signal: AbortSignal | undefined;

  constructor(
    private readonly options: VerifierOptions,
    private readonly stores: VerifierStores,
  ) {
    this.now = options.now ?? Date.now;
    this.tracker = createConsistencyTracker(options.spec.stores, options.plannedItems, options.spec.markers);
    this.lagEnabled = options.spec.lag && stores.lag !== undefined;
    if (!options.spec.lag) this.lagSkippedReason = 'the scenario sets verify.lag to false';
    else if (!stores.lag) this.lagSkippedReason = 'the target gives no Kafka brokers';
  }

  /** Feeds acknowledged items (the load engine's onAcknowledged hook). */
  acknowledge(items: readonly AcknowledgedItem[]): void {
    for (const item of items) this.acknowledged.add(item.id);
    this.tracker.acknowledge(items);
  }

  /** Starts polling in the background. */
  start(signal: AbortSignal): void {
    this.signal = signal;
    this.lastChangeMs = this.now();
    this.loop = this.pollLoop();
  }

  /** Ends the load phase, polls to a verdict, reconciles and returns the result. */
  async finish(load: LoadResult): Promise<VerificationResult> {
    if (load.mode === 'direct' && this.lagEnabled) {
      this.lagEnabled = false;
      this.lagSkippedReason = 'the API answered in direct mode, so no Kafka consumer is in the path';
    }
    this.acknowledge(load.acknowledged);
    this.loadEndMs = load.endedAtMs;
    this.lastChangeMs = Math.max(this.lastChangeMs, load.endedAtMs);
    if (!this.loop) this.start(this.signal ?? new AbortController().signal);
    const status = await (this.loop as Promise<VerificationStatus>);
    const pollMs = Math.max(0, this.now() - load.endedAtMs);
    return this.conclude(load, status, pollMs);
  }

  async close(): Promise<void> {
    this.stopRequested = true;
    await this.loop?.catch(() => undefined);
    await Promise.all([this.stores.postgres?.close(), this.stores.lag?.close()]);
  }

  private recordError(store: string, error: unknown): undefined {
    const message = `${store}: ${error instanceof Error ? error.message : String(error)}`;
    if (this.errors.length < MAX_ERRORS_KEPT && !this.errors.includes(message)) this.errors.push(message);
    return undefined;
  }

  private async pollLoop(): Promise<VerificationStatus> {
    for (;;) {
      await this.poll();
      const status = this.evaluate();
      if (status) return status;
      await sleep(this.options.spec.pollIntervalMs, this.signal).catch(() => undefined);
    }
  }

  private evaluate(): VerificationStatus | undefined {
    if (this.signal?.aborted || this.stopRequested) return 'aborted';
    if (this.loadEndMs === undefined) return undefined;
    const at = this.now();
    const expected = this.acknowledged.size;
    const lagZero = !this.lagEnabled || (this.lagSamples.at(-1)?.error === undefined && this.lagSamples.at(-1)?.total === 0);
    const countsMatch = this.options.spec.stores.every((store) => this.lastCounts[store] === expected);
    const markersSeen = this.options.spec.stores.every((store) => this.tracker.pending(store).length === 0);
    if (countsMatch && lagZero && markersSeen) return 'converged';
    const sinceLoadEnd = at - this.loadEndMs;
    if (lagZero && at - this.lastChangeMs >= this.options.spec.settleMs && sinceLoadEnd >= this.options.spec.settleMs) return 'settled';
    if (sinceLoadEnd >= this.options.spec.timeoutMs) return 'timed-out';
    return undefined;
  }

  private async poll(): Promise<void> {
    const at = this.now();
    const tMs = Math.round(at - this.options.runStartMs);
    const { postgres, qdrant, lag } = this.stores;
    const wants = (store: StoreName) => this.options.spec.stores.includes(store);
    const [pgCount, qdrantCount, lagSample] = await Promise.all([
      postgres && wants('postgres') ? postgres.count(this.options.runId).catch((error: unknown) => this.recordError('postgres', error)) : undefined,
      qdrant && wants('qdrant') ? qdrant.count(this.options.runId).catch((error: unknown) => this.recordError('qdrant', error)) : undefined,
      lag && this.lagEnabled ? lag.sample(tMs) : undefined,
      this.checkMarkers(),
    ]);
    this.polls += 1;

    if (pgCount !== undefined) this.lastCounts.postgres = pgCount;
    if (qdrantCount !== undefined) this.lastCounts.qdrant = qdrantCount;
    if (lagSample) {
      this.lagSamples.push(lagSample);
      this.lagFailuresInRow = lagSample.error ? this.lagFailuresInRow + 1 : 0;
      this.maxLagFailuresInRow = Math.max(this.maxLagFailuresInRow, this.lagFailuresInRow);
    }
    const signature = JSON.stringify([this.lastCounts, lagSample?.total, this.acknowledged.size]);
    if (signature !== this.lastSignature) {
      this.lastSignature = signature;
      this.lastChangeMs = this.now();
    }
    this.countSeries.push({ tMs, acknowledged: this.acknowledged.size, postgres: pgCount, qdrant: qdrantCount, lag: lagSample?.error ? undefined : lagSample?.total });
    this.options.onPoll?.(this.describePoll(lagSample));
  }

  private describePoll(lagSample: LagSample | undefined): string {
    const parts = this.options.spec.stores.map((store) => `${store} ${this.lastCounts[store] ?? '?'}/${this.acknowledged.size}`);
    if (this.lagEnabled) parts.push(`lag ${lagSample?.error ? 'unreadable' : (lagSample?.total ?? '?')}`);
    if (this.loadEndMs !== undefined) {
      const elapsed = Math.round((this.now() - this.loadEndMs) / 100) / 10;
      parts.push(`${elapsed}s of ${this.options.spec.timeoutMs / 1000}s`);
    }
    return parts.join('  ');
  }

  private async checkMarkers(): Promise<void> {
    const { postgres, qdrant } = this.stores;
    const check = async (store: StoreName, reader: PostgresStore | QdrantStore | undefined) => {
      if (!reader || !this.options.spec.stores.includes(store)) return;
      const pending = this.tracker.pending(store);
      if (pending.length === 0) return;
      const records = await reader.findByIds(pending).catch((error: unknown) => this.recordError(store, error));
      if (!records) return;
      const visible = records.filter((record) => record.runId === this.options.runId).map((record) => record.id);
      this.tracker.markVisible(store, visible, this.now());
    };
    await Promise.all([check('postgres', postgres), check('qdrant', qdrant)]);
  }

  private async finalCounts(expected: number): Promise<StoreCount[]> {
    const counts: StoreCount[] = [];
    const { postgres, qdrant } = this.stores;
    const runId = this.options.runId;
    if (postgres && this.options.spec.stores.includes('postgres')) {
      const found = await postgres.count(runId).catch((error: unknown) => this.recordError('postgres', error));
      const plan = await postgres.explainCount(runId).catch(() => undefined);
      counts.push({ store: 'postgres', expected, found: found ?? -1, where: `${COUNT_SQL} [$1 = ${JSON.stringify(runId)}] on ${postgres.where}`, plan });
    }
    if (qdrant && this.options.spec.stores.includes('qdrant')) {
      const found = await qdrant.count(runId).catch((error: unknown) => this.recordError('qdrant', error));
      counts.push({ store: 'qdrant', expected, found: found ?? -1, where: qdrant.describeCount(runId) });
    }
    return counts;
  }

  private async snapshot(store: StoreName, reader: PostgresStore | QdrantStore, acknowledged: Set<string>): Promise<StoreSnapshot> {
    const runId = this.options.runId;
    const records = (await reader.list(runId).catch((error: unknown) => this.recordError(store, error))) ?? [];
    const listed = new Set(records.map((record) => record.id));
    const missing = [...acknowledged].filter((id) => !listed.has(id));
    const byId = missing.length > 0 ? ((await reader.findByIds(missing).catch((error: unknown) => this.recordError(store, error))) ?? []) : [];
    const query =
      store === 'postgres'
        ? `${LIST_SQL} [$1 = ${JSON.stringify(runId)}], then by id for acknowledged ids not listed`
        : `POST ${(reader as QdrantStore).where}/points/scroll with filter run_id = ${JSON.stringify(runId)}, then points by id for acknowledged ids not listed`;
    return { store, records: [...records, ...byId.filter((record) => record.runId !== runId)], query };
  }

  private lagReport(): LagReport {
    const groups = this.options.endpoints.consumerGroups;
    const summary = summarizeLagCurve(this.lagSamples, (this.loadEndMs ?? this.options.runStartMs) - this.options.runStartMs);
    const errors = this.lagSamples.filter((sample) => sample.error !== undefined);
    return {
      checked: this.lagEnabled,
      skippedReason: this.lagEnabled ? undefined : this.lagSkippedReason,
      where: this.stores.lag?.where ?? `no Kafka brokers for groups ${groups.join(', ')}`,
      summary,
      series: this.lagSamples
        .filter((sample) => sample.error === undefined)
        .map((sample) => ({
          tMs: sample.tMs,
          total: sample.total,
          byGroup: Object.fromEntries(sample.groups.map((group) => [group.group, group.total])),
        })),
      errors: errors.length,
      lastError: errors.at(-1)?.error,
    };
  }

  /** Returns a warning when lag could not be read persistently: several samples in a row, or the last one. */
  private lagWarnings(lag: LagReport): string[] {
    if (!lag.checked || lag.errors === 0) return [];
    const lastFailed = this.lagSamples.at(-1)?.error !== undefined;
    if (!lastFailed && this.maxLagFailuresInRow < LAG_FAILURES_REPORTED) return [];
    const run = `${this.maxLagFailuresInRow} in a row${lastFailed ? ', the last one included' : ''}`;
    return [`Kafka lag could not be read in ${lag.errors} of ${this.lagSamples.length} samples (${run}): ${lag.lastError ?? 'unknown error'}`];
  }

  private async conclude(load: LoadResult, status: VerificationStatus, pollMs: number): Promise<VerificationResult> {
    const acknowledged = new Set(load.acknowledged.map((item) => item.id));
    const counts = await this.finalCounts(acknowledged.size);
    const snapshots: StoreSnapshot[] = [];
    if (this.stores.postgres && this.options.spec.stores.includes('postgres')) {
      snapshots.push(await this.snapshot('postgres', this.stores.postgres, acknowledged));
    }
    if (this.stores.qdrant && this.options.spec.stores.includes('qdrant')) {
      snapshots.push(await this.snapshot('qdrant', this.stores.qdrant, acknowledged));
    }
    const unacknowledged = new Set([...load.rejected.map((item) => item.id), ...load.failed.map((item) => item.id)]);
    const reconciliation = reconcile({ runId: this.options.runId, acknowledged: load.acknowledged, stores: snapshots, unacknowledged });
    const lag = this.lagReport();
    return {
      status,
      pollMs,
      polls: this.polls,
      expectedItems: acknowledged.size,
      counts,
      countSeries: this.countSeries,
      lag,
      consistency: this.tracker.summarize(this.options.spec.pollIntervalMs),
      reconciliation,
      checks: buildChecks(counts, lag, this.options.endpoints.consumerGroups, reconciliation),
      errors: this.errors,
      warnings: this.lagWarnings(lag),
    };
  }
}

/** Creates a verifier with readers for the stores and lag the scenario checks. */
export function createVerifier(options: VerifierOptions): Verifier {
  const { endpoints, spec, namespace } = options;
  const stores: VerifierStores = {
    postgres: spec.stores.includes('postgres') ? createPostgresStore(endpoints.postgresUrl) : undefined,
    qdrant: spec.stores.includes('qdrant') ? createQdrantStore(endpoints.qdrantUrl, namespace, endpoints.qdrantApiKey) : undefined,
    lag:
      spec.lag && endpoints.kafkaBrokers.length > 0
        ? createLagReader({ brokers: endpoints.kafkaBrokers, topic: endpoints.topic, groups: endpoints.consumerGroups })
        : undefined,
  };
  return new Verifier(options, stores);
}
