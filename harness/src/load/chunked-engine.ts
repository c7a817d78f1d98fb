/**
 * The `chunked` load engine: posts the run's generated items to /store_bulk in
 * chunks, with bounded concurrency over keep-alive connections, and retries
 * 429, 5xx and network errors with exponential backoff and full jitter. Item
 * ids are stable (run id plus seq), so a retried chunk never creates a second
 * copy of an item that the first attempt already stored.
 */
import type { LoadSpec } from '../scenario/types.js';
import { accountChunkResponse, type ChunkAccounting } from './chunk-response.js';
import { latencyFromIntendedStartMs } from './coordinated-omission.js';
import { expectedContentHash } from './expected-hash.js';
import { createHttpClient, NetworkError, type HttpClient, type HttpResponse } from './http-client.js';
import { generateItems, type GeneratedItem, type ItemGeneratorOptions } from './items.js';
import { createLatencyHistogram, recordLatencyMs, summarizeLatency, type Histogram } from './latency.js';
import { backoffDelayMs, isRetriableStatus, parseRetryAfterMs, sleep } from './retry.js';
import { createThroughputTracker, type ThroughputTracker } from './throughput.js';
import type {
  AcknowledgedItem,
  ChunkOutcome,
  FailedItem,
  LoadEngine,
  LoadProgress,
  LoadResult,
  LoadRunContext,
  RejectedItem,
} from './types.js';

export const BULK_PATH = '/store_bulk';

export interface ChunkedEngineDependencies {
  /** Random source of the retry jitter; Math.random by default. */
  random?: () => number;
  createClient?: typeof createHttpClient;
}

export const CHUNKED_LATENCY_NOTE =
  'Latency is the time from sending a /store_bulk request to receiving its whole response, for attempts answered with 2xx. ' +
  'Each of the `concurrency` workers waits for its response before it sends the next chunk (a closed model), and no arrival rate is promised.';

export const CHUNKED_FIXED_RATE_LATENCY_NOTE =
  'Fixed rate: each chunk has an intended send time (chunk start seq / rate), and latency is measured from that time to the whole response ' +
  'of its 2xx attempt, retries and backoff included. A chunk that waited for a free worker during a server stall counts the wait, ' +
  'so the percentiles are corrected for coordinated omission. The send-to-response latency is reported beside them.';

function wallClock(): number {
  return performance.timeOrigin + performance.now();
}

function resultMode(modes: Set<string>): LoadResult['mode'] {
  if (modes.size === 0) return 'unknown';
  if (modes.size > 1) return 'mixed';
  const [mode] = [...modes];
  return mode === 'evented' || mode === 'direct' ? mode : 'unknown';
}

/** One execution of a chunked load: its settings, its client and everything it counted. */
class ChunkedRun {
  private readonly now: () => number;
  private readonly startedAtMs: number;
  private readonly client: HttpClient;
  private readonly itemOptions: ItemGeneratorOptions;
  private readonly throughput: ThroughputTracker;
  /** Send to response of every 2xx attempt. */
  private readonly measuredLatency: Histogram = createLatencyHistogram();
  /** Intended send time to 2xx response of every chunk; filled only under a fixed rate. */
  private readonly correctedLatency: Histogram = createLatencyHistogram();
  private readonly totalChunks: number;
  private readonly stopAtMs: number;

  private readonly acknowledged: AcknowledgedItem[] = [];
  private readonly rejected: RejectedItem[] = [];
  private readonly failed: FailedItem[] = [];
  private readonly chunks: ChunkOutcome[] = [];
  private readonly modes = new Set<string>();
  private readonly byStatus: Record<string, number> = {};
  private readonly notes = new Set<string>();
  private nextChunk = 0;
  private sentItems = 0;
  private requests = 0;
  private succeeded = 0;
  private retried = 0;
  private networkErrors = 0;

  constructor(
    private readonly spec: LoadSpec,
    private readonly context: LoadRunContext,
    private readonly random: () => number,
    createClient: typeof createHttpClient,
  ) {
    this.now = context.now ?? wallClock;
    this.startedAtMs = this.now();
    this.throughput = createThroughputTracker(this.startedAtMs);
    this.totalChunks = Math.ceil(spec.items / spec.chunkSize);
    this.stopAtMs = spec.durationMs === undefined ? Number.POSITIVE_INFINITY : this.startedAtMs + spec.durationMs;
    this.itemOptions = {
      runId: context.runId,
      namespace: context.namespace,
      seed: spec.seed,
      shapes: spec.shapes,
      invalidItems: spec.invalidItems,
      textLength: spec.textLength,
    };
    this.client = createClient({
      baseUrl: context.endpoints.apiUrl,
      token: context.endpoints.apiToken,
      maxSockets: spec.concurrency,
      timeoutMs: spec.requestTimeoutMs,
    });
  }

  async execute(): Promise<LoadResult> {
    const workers = Math.min(this.spec.concurrency, this.totalChunks);
    try {
      await Promise.all(Array.from({ length: workers }, () => this.work()));
    } finally {
      this.client.close();
    }
    return this.result();
  }

  private progress(): LoadProgress {
    return {
      totalItems: this.spec.items,
      sentItems: this.sentItems,
      acknowledgedItems: this.acknowledged.length,
      rejectedItems: this.rejected.length,
      failedItems: this.failed.length,
      retries: this.retried,
      elapsedMs: this.now() - this.startedAtMs,
    };
  }

  private shouldStop(): boolean {
    return this.context.signal.aborted || this.now() >= this.stopAtMs;
  }

  /** Claims the next chunk, waits for the hooks and the pacing, and sends it, until no chunk is left. */
  private async work(): Promise<void> {
    while (!this.shouldStop() && this.nextChunk < this.totalChunks) {
      const index = this.nextChunk;
      this.nextChunk += 1;
      await this.context.hooks?.beforeRequest?.(this.progress());
      const from = index * this.spec.chunkSize;
      const intendedAtMs = this.spec.rate === undefined ? undefined : this.startedAtMs + (from / this.spec.rate) * 1000;
      if (intendedAtMs !== undefined) await this.pace(intendedAtMs);
      if (this.shouldStop()) return;
      const to = Math.min(this.spec.items, from + this.spec.chunkSize);
      await this.sendChunk(index, generateItems(from, to, this.itemOptions), intendedAtMs);
    }
  }

  private async pace(startAtMs: number): Promise<void> {
    const waitMs = startAtMs - this.now();
    if (waitMs > 0) await sleep(waitMs, this.context.signal).catch(() => undefined);
  }

  private async backoff(attempt: number, retryAfterMs: number | undefined): Promise<void> {
    const delayMs = backoffDelayMs(attempt, this.spec.retry, this.random, retryAfterMs);
    await sleep(delayMs, this.context.signal).catch(() => undefined);
  }

  /**
   * Sends one chunk, retrying 429, 5xx and network errors, and accounts its items.
   * `intendedAtMs` is the chunk's place in a fixed-rate schedule.
   */
  private async sendChunk(index: number, items: GeneratedItem[], intendedAtMs: number | undefined): Promise<void> {
    const body = Buffer.from(JSON.stringify({ items: items.map((item) => item.body) }));
    const outcome: ChunkOutcome = {
      index,
      firstSeq: items[0]?.seq ?? 0,
      size: items.length,
      attempts: 0,
      status: 0,
      latencyMs: 0,
      acknowledged: 0,
      rejected: 0,
      failed: 0,
    };
    this.sentItems += items.length;
    const maxAttempts = this.spec.retry.maxAttempts;

    for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
      outcome.attempts = attempt;
      const response = await this.attempt(body, attempt > 1);
      const last = attempt === maxAttempts || this.context.signal.aborted;

      if (response instanceof Error) {
        if (last || !(response instanceof NetworkError)) {
          this.finishChunk(outcome, failAll(items, response.message), 0);
          return;
        }
        await this.backoff(attempt, undefined);
        continue;
      }

      outcome.status = response.status;
      outcome.latencyMs = Math.round(response.latencyMs * 1000) / 1000;
      if (intendedAtMs !== undefined && response.status >= 200 && response.status < 300) {
        const respondedAtMs = this.now();
        recordLatencyMs(this.correctedLatency, latencyFromIntendedStartMs(intendedAtMs, respondedAtMs - response.latencyMs, respondedAtMs));
      }
      if (!last && isRetriableStatus(response.status)) {
        this.context.hooks?.onProgress?.(this.progress());
        await this.backoff(attempt, parseRetryAfterMs(response.headers['retry-after']));
        continue;
      }
      this.finishChunk(outcome, accountChunkResponse(items, response.status, response.json), response.status);
      return;
    }
  }

  /** Sends one attempt and records its counts; returns the response or the error that replaced it. */
  private async attempt(body: Buffer, retried: boolean): Promise<HttpResponse | Error> {
    this.requests += 1;
    if (retried) this.retried += 1;
    try {
      const response = await this.client.post(BULK_PATH, body, this.context.signal);
      const ok = response.status >= 200 && response.status < 300;
      this.byStatus[response.status] = (this.byStatus[response.status] ?? 0) + 1;
      this.throughput.recordRequest(this.now(), { ok, latencyMs: response.latencyMs, retried });
      if (ok) {
        this.succeeded += 1;
        recordLatencyMs(this.measuredLatency, response.latencyMs);
      }
      return response;
    } catch (error) {
      this.networkErrors += 1;
      this.throughput.recordRequest(this.now(), { ok: false, latencyMs: 0, retried });
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  private finishChunk(outcome: ChunkOutcome, accounting: ChunkAccounting, status: number): void {
    const atMs = this.now();
    if (accounting.mode) this.modes.add(accounting.mode);
    const acknowledged = accounting.acknowledged.map((item) => ({
      id: item.id,
      seq: item.seq,
      ackAtMs: atMs,
      expectedHash: expectedContentHash(item.body, this.context.namespace),
    }));
    this.acknowledged.push(...acknowledged);
    for (const { item, code, message } of accounting.rejected) {
      this.rejected.push({ id: item.id, seq: item.seq, status, code, message });
    }
    for (const { item, reason } of accounting.failed) {
      this.failed.push({ id: item.id, seq: item.seq, attempts: outcome.attempts, reason });
    }
    if (accounting.unexpectedIds.length > 0) {
      this.notes.add(`The API returned ids that were not in the request, e.g. ${accounting.unexpectedIds[0]}.`);
    }

    outcome.acknowledged = acknowledged.length;
    outcome.rejected = accounting.rejected.length;
    outcome.failed = accounting.failed.length;
    this.chunks.push(outcome);
    this.throughput.recordItems(atMs, {
      acknowledged: outcome.acknowledged,
      rejected: outcome.rejected,
      failed: outcome.failed,
    });
    if (acknowledged.length > 0) this.context.hooks?.onAcknowledged?.(acknowledged);
    this.context.hooks?.onProgress?.(this.progress());
  }

  private latencyNotes(): void {
    if (this.spec.rate === undefined) {
      this.notes.add(CHUNKED_LATENCY_NOTE);
      return;
    }
    const measured = summarizeLatency(this.measuredLatency);
    const corrected = summarizeLatency(this.correctedLatency);
    this.notes.add(CHUNKED_FIXED_RATE_LATENCY_NOTE);
    this.notes.add(`p99 latency ${corrected.p99Ms} ms corrected for coordinated omission, ${measured.p99Ms} ms as measured (max ${measured.maxMs} ms).`);
  }

  private result(): LoadResult {
    this.latencyNotes();
    const accounted = this.acknowledged.length + this.rejected.length + this.failed.length;
    return {
      engine: 'chunked',
      runId: this.context.runId,
      namespace: this.context.namespace,
      mode: resultMode(this.modes),
      startedAtMs: this.startedAtMs,
      endedAtMs: this.now(),
      totalItems: this.spec.items,
      acknowledged: [...this.acknowledged].sort((a, b) => a.seq - b.seq),
      rejected: this.rejected,
      failed: this.failed,
      notSent: this.spec.items - accounted,
      requests: {
        total: this.requests,
        succeeded: this.succeeded,
        retried: this.retried,
        networkErrors: this.networkErrors,
        byStatus: this.byStatus,
      },
      chunks: [...this.chunks].sort((a, b) => a.index - b.index),
      latency: this.spec.rate === undefined ? this.measuredLatency : this.correctedLatency,
      throughput: this.throughput.buckets(),
      notes: [...this.notes],
    };
  }
}

function failAll(items: GeneratedItem[], reason: string): ChunkAccounting {
  return { acknowledged: [], rejected: [], failed: items.map((item) => ({ item, reason })), unexpectedIds: [] };
}

/** Creates the chunked engine. */
export function createChunkedEngine(dependencies: ChunkedEngineDependencies = {}): LoadEngine {
  const random = dependencies.random ?? Math.random;
  const createClient = dependencies.createClient ?? createHttpClient;
  return {
    name: 'chunked',
    run: (spec, context) => new ChunkedRun(spec, context, random, createClient).execute(),
  };
}
