/**
 * The `autocannon` load engine: HTTP load on /store, /store_bulk and /recall
 * (or a mix) from autocannon 9 running in the harness process, over
 * `concurrency` keep-alive connections, for a duration, a number of items or
 * a number of requests, optionally at a fixed rate (overallRate or
 * connectionRate, requests per second).
 *
 * Every store request carries new items with stable ids (run id plus seq)
 * built in autocannon's setupRequest, and every response is accounted item by
 * item in onResponse, so the run feeds the same verification and report as the
 * chunked engine. autocannon does not retry: a 429, 5xx or timeout fails the
 * items of that request.
 *
 * The load ends by draining: once the duration, item budget or request count
 * is reached, each connection ends after its in-flight request answered,
 * so no request is cut off with an unknown outcome.
 */
import autocannon from 'autocannon';
import type { LoadSpec } from '../scenario/types.js';
import { judgeArrivalRate } from './arrival-rate.js';
import {
  perConnectionRate,
  readAutocannonSettings,
  REQUEST_PATHS,
  totalRate,
  type AutocannonSettings,
  type RequestKind,
} from './autocannon-options.js';
import { accountResponse, buildBody, ItemAllocator, itemsForRequest, type SentRequest } from './autocannon-requests.js';
import type { ChunkAccounting } from './chunk-response.js';
import { ENGINE_LATENCY_NOTES, expectedIntervalMs, recordCorrectedLatencyMs } from './coordinated-omission.js';
import { expectedContentHash } from './expected-hash.js';
import type { ItemGeneratorOptions } from './items.js';
import { createLatencyHistogram, recordLatencyMs, summarizeLatency, type Histogram } from './latency.js';
import { createThroughputTracker, type ThroughputTracker } from './throughput.js';
import type { AcknowledgedItem, FailedItem, LoadEngine, LoadProgress, LoadResult, LoadRunContext, RejectedItem } from './types.js';

/**
 * Fields of autocannon 9's Client (lib/httpClient.js) that the engine uses to
 * end a connection after its in-flight request: the client destroys itself in
 * _doRequest once reqsMade reaches responseMax, and a client waiting for the
 * next second of its rate limit is `paused` with no request in flight.
 */
interface ClientInternals {
  reqsMade: number;
  responseMax: number | undefined;
  paused?: boolean;
  destroyed: boolean;
  destroy(): void;
}

/** The longest a load may run when nothing else ends it; the duration, item budget or abort normally end it much sooner. */
const SAFETY_CAP_SECONDS = 3600;
/** Path of the request that replaces a store request when no item is left. */
const FILLER_PATH = '/healthz';
/** How often autocannon checks whether every connection ended. */
const SAMPLE_INTERVAL_MS = 100;

function wallClock(): number {
  return performance.timeOrigin + performance.now();
}

interface Handoff {
  request: SentRequest;
  status: number;
}

/** One execution of an autocannon load. */
class AutocannonRun {
  private readonly now: () => number;
  private readonly settings: AutocannonSettings;
  private readonly allocator: ItemAllocator;
  private readonly itemOptions: ItemGeneratorOptions;
  private readonly connections: number;
  private readonly ratePerConnection: number | undefined;
  private readonly clients: ClientInternals[] = [];
  private readonly pending = new Map<number, SentRequest>();
  private readonly rawLatency: Histogram = createLatencyHistogram();
  private readonly correctedLatency: Histogram = createLatencyHistogram();
  private readonly latencyByKind = new Map<RequestKind, Histogram>();
  private readonly throughput: ThroughputTracker;
  private readonly acknowledged: AcknowledgedItem[] = [];
  private readonly rejected: RejectedItem[] = [];
  private readonly failed: FailedItem[] = [];
  private readonly modes = new Set<string>();
  private readonly byStatus: Record<string, number> = {};
  private readonly notes = new Set<string>();
  private startedAtMs = 0;
  private lastStartAtMs = 0;
  private stopRequestedAtMs: number | undefined;
  private stopReason: string | undefined;
  private handoff: Handoff | undefined;
  private requestCount = 0;
  private succeeded = 0;
  private networkErrors = 0;

  constructor(
    private readonly spec: LoadSpec,
    private readonly context: LoadRunContext,
  ) {
    this.now = context.now ?? wallClock;
    this.settings = readAutocannonSettings(spec);
    this.allocator = new ItemAllocator(this.settings.maxItems);
    this.itemOptions = {
      runId: context.runId,
      namespace: context.namespace,
      seed: spec.seed,
      shapes: spec.shapes,
      invalidItems: spec.invalidItems,
      textLength: spec.textLength,
    };
    this.connections = this.effectiveConnections();
    this.ratePerConnection = perConnectionRate(this.settings, this.connections);
    this.throughput = createThroughputTracker(this.now());
  }

  /** Connections that can each send at least one request: no more than the requests the budget allows, nor than overallRate (as autocannon does). */
  private effectiveConnections(): number {
    const { cycle, itemsPerRequest, maxItems, maxRequests, overallRate, connectionRate } = this.settings;
    let connections = this.settings.connections;
    if (cycle.every((kind) => kind !== 'recall')) {
      const largest = Math.max(...cycle.map((kind) => itemsPerRequest[kind]));
      connections = Math.min(connections, Math.ceil(maxItems / largest));
    }
    if (maxRequests !== undefined) connections = Math.min(connections, maxRequests);
    if (overallRate !== undefined && connectionRate === undefined) connections = Math.min(connections, Math.floor(overallRate));
    return Math.max(1, connections);
  }

  async execute(): Promise<LoadResult> {
    this.startedAtMs = this.now();
    const durationTimer = this.settings.durationMs === undefined ? undefined : setTimeout(() => this.requestStop('duration'), this.settings.durationMs);
    const onAbort = () => this.requestStop('abort');
    this.context.signal.addEventListener('abort', onAbort, { once: true });
    try {
      await this.runAutocannon();
    } finally {
      if (durationTimer) clearTimeout(durationTimer);
      this.context.signal.removeEventListener('abort', onAbort);
    }
    this.failPending();
    return this.result();
  }

  private runAutocannon(): Promise<void> {
    return new Promise((resolvePromise, rejectPromise) => {
      const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
      if (this.context.endpoints.apiToken) headers.authorization = `Bearer ${this.context.endpoints.apiToken}`;
      const instance = autocannon(
        {
          url: this.context.endpoints.apiUrl,
          connections: this.connections,
          pipelining: 1,
          duration: SAFETY_CAP_SECONDS,
          timeout: Math.max(1, Math.ceil(this.settings.timeoutMs / 1000)),
          sampleInt: SAMPLE_INTERVAL_MS,
          overallRate: this.settings.connectionRate === undefined ? this.settings.overallRate : undefined,
          connectionRate: this.settings.connectionRate,
          headers,
          setupClient: (client) => this.clients.push(client as unknown as ClientInternals),
          requests: this.settings.cycle.map((kind) => ({
            method: 'POST' as const,
            path: REQUEST_PATHS[kind],
            setupRequest: (request: autocannon.Request, requestContext: object) => this.setupRequest(kind, request, requestContext),
            onResponse: (status: number, body: string, requestContext: object) => this.onResponse(status, body, requestContext),
          })),
        },
        (error) => (error ? rejectPromise(error instanceof Error ? error : new Error(String(error))) : resolvePromise()),
      );
      instance.on('response', (client: autocannon.Client, status: number, _bytes: number, responseTimeMs: number) =>
        this.afterResponse(client as unknown as ClientInternals, status, responseTimeMs),
      );
      instance.on('reqError', () => {
        this.networkErrors += 1;
        this.throughput.recordRequest(this.now(), { ok: false, latencyMs: 0, retried: false });
      });
    });
  }

  /** autocannon's setupRequest: builds the next request of `kind` with new items. */
  private setupRequest(kind: RequestKind, request: autocannon.Request, requestContext: object): autocannon.Request {
    const items = itemsForRequest(this.allocator, this.settings.itemsPerRequest[kind], this.itemOptions);
    // autocannon builds the first request of every connection up front. When
    // the item budget is already spent then, that request becomes a GET
    // /healthz filler, which is neither accounted nor timed.
    const filler = kind !== 'recall' && items.length === 0;
    const sent: SentRequest = { index: this.requestCount, kind, items, sentAtMs: this.now(), filler };
    this.requestCount += 1;
    this.lastStartAtMs = sent.sentAtMs;
    this.pending.set(sent.index, sent);
    (requestContext as { sent?: SentRequest }).sent = sent;
    if (this.allocator.exhausted && Number.isFinite(this.settings.maxItems)) this.requestStop('items', false);
    if (this.settings.maxRequests !== undefined && this.requestCount >= this.settings.maxRequests) this.requestStop('requests', false);
    if (filler) return { ...request, method: 'GET', path: FILLER_PATH, body: undefined };
    const body = buildBody(kind, items, {
      seed: this.spec.seed,
      index: sent.index,
      namespace: this.context.namespace,
      topK: this.settings.recallTopK,
    });
    return { ...request, body };
  }

  /** autocannon's onResponse: accounts the items of the answered request. */
  private onResponse(status: number, body: string, requestContext: object): void {
    const sent = (requestContext as { sent?: SentRequest }).sent;
    if (!sent || !this.pending.delete(sent.index)) return;
    this.handoff = { request: sent, status };
    this.settle(sent, status, accountResponse(sent, status, body));
  }

  /** The instance's response event, right after onResponse of the same request: latency, counts and the drain. */
  private afterResponse(client: ClientInternals, status: number, responseTimeMs: number): void {
    const handoff = this.handoff;
    this.handoff = undefined;
    if (!handoff?.request.filler) this.countResponse(handoff?.request.kind, status, responseTimeMs);
    if (this.stopReason !== undefined) this.endAfterCurrent(client);
    this.context.hooks?.onProgress?.(this.progress());
  }

  private countResponse(kind: RequestKind | undefined, status: number, responseTimeMs: number): void {
    const ok = status >= 200 && status < 300;
    this.byStatus[status] = (this.byStatus[status] ?? 0) + 1;
    this.throughput.recordRequest(this.now(), { ok, latencyMs: responseTimeMs, retried: false });
    if (!ok) return;
    this.succeeded += 1;
    this.recordLatency(kind, responseTimeMs);
  }

  private recordLatency(kind: RequestKind | undefined, latencyMs: number): void {
    recordLatencyMs(this.rawLatency, latencyMs);
    if (this.ratePerConnection !== undefined) recordCorrectedLatencyMs(this.correctedLatency, latencyMs, expectedIntervalMs(this.ratePerConnection));
    if (kind === undefined) return;
    let histogram = this.latencyByKind.get(kind);
    if (!histogram) {
      histogram = createLatencyHistogram();
      this.latencyByKind.set(kind, histogram);
    }
    recordLatencyMs(histogram, latencyMs);
  }

  /** Makes autocannon end `client` instead of building its next request; a paused client has nothing in flight and ends now. */
  private endAfterCurrent(client: ClientInternals): void {
    if (client.destroyed) return;
    client.responseMax = Math.max(1, client.reqsMade);
    if (client.paused) client.destroy();
  }

  /** Ends the load: every connection ends after its in-flight request. */
  private requestStop(reason: string, endIdleClients = true): void {
    if (this.stopReason !== undefined) return;
    this.stopReason = reason;
    this.stopRequestedAtMs = this.now();
    for (const client of this.clients) {
      if (client.destroyed) continue;
      client.responseMax = Math.max(1, client.reqsMade);
      if (endIdleClients && client.paused) client.destroy();
    }
  }

  private settle(sent: SentRequest, status: number, accounting: ChunkAccounting): void {
    const atMs = this.now();
    if (accounting.mode) this.modes.add(accounting.mode);
    const acknowledged = accounting.acknowledged.map((item) => ({
      id: item.id,
      seq: item.seq,
      ackAtMs: atMs,
      expectedHash: expectedContentHash(item.body, this.context.namespace),
    }));
    this.acknowledged.push(...acknowledged);
    for (const { item, code, message } of accounting.rejected) this.rejected.push({ id: item.id, seq: item.seq, status, code, message });
    for (const { item, reason } of accounting.failed) this.failed.push({ id: item.id, seq: item.seq, attempts: 1, reason });
    if (accounting.unexpectedIds.length > 0) this.notes.add(`The API returned ids that were not in the request, e.g. ${accounting.unexpectedIds[0]}.`);
    this.throughput.recordItems(atMs, { acknowledged: acknowledged.length, rejected: accounting.rejected.length, failed: accounting.failed.length });
    if (acknowledged.length > 0) this.context.hooks?.onAcknowledged?.(acknowledged);
  }

  /** Items of requests that never got a response (timeout, connection error or abort) fail. */
  private failPending(): void {
    for (const sent of this.pending.values()) {
      for (const item of sent.items) {
        this.failed.push({ id: item.id, seq: item.seq, attempts: 1, reason: 'no response: the request timed out, its connection failed or the load was aborted' });
      }
    }
    this.pending.clear();
  }

  private progress(): LoadProgress {
    const total = Number.isFinite(this.settings.maxItems) ? this.settings.maxItems : this.allocator.handedOut;
    return {
      totalItems: total,
      sentItems: this.allocator.handedOut,
      acknowledgedItems: this.acknowledged.length,
      rejectedItems: this.rejected.length,
      failedItems: this.failed.length,
      retries: 0,
      elapsedMs: this.now() - this.startedAtMs,
    };
  }

  private resultMode(): LoadResult['mode'] {
    if (this.modes.size === 0) return 'unknown';
    if (this.modes.size > 1) return 'mixed';
    const [mode] = [...this.modes];
    return mode === 'evented' || mode === 'direct' ? mode : 'unknown';
  }

  /** Judges the achieved rate of a fixed-rate load; returns the invalid reason, if any. */
  private judgeRate(): string | undefined {
    const target = totalRate(this.settings, this.connections);
    if (target === undefined) return undefined;
    const endMs = this.stopReason === 'duration' ? (this.stopRequestedAtMs as number) : this.lastStartAtMs + 1000 / target;
    const verdict = judgeArrivalRate({
      unit: 'requests',
      targetPerSecond: target,
      windowMs: Math.max(1, endMs - this.startedAtMs),
      started: this.requestCount,
      dropped: 0,
      maxShortfall: this.settings.maxRateShortfall,
      fix: 'add connections (load.concurrency), lower the rate, or find what slowed the service (the corrected p99 shows a stall)',
    });
    this.notes.add(`Fixed rate ${target} requests/s over ${this.connections} connections; achieved ${verdict.achievedPerSecond} requests/s.`);
    return verdict.invalidReason;
  }

  private latencyNotes(): void {
    if (this.ratePerConnection === undefined) {
      this.notes.add(ENGINE_LATENCY_NOTES.autocannonOpen);
    } else {
      const raw = summarizeLatency(this.rawLatency);
      const corrected = summarizeLatency(this.correctedLatency);
      this.notes.add(ENGINE_LATENCY_NOTES.autocannonFixedRate);
      this.notes.add(`p99 latency ${corrected.p99Ms} ms corrected for coordinated omission, ${raw.p99Ms} ms as measured (max ${raw.maxMs} ms).`);
    }
    if (this.latencyByKind.size > 1) {
      for (const [kind, histogram] of this.latencyByKind) {
        const summary = summarizeLatency(histogram);
        this.notes.add(`${REQUEST_PATHS[kind]}: ${summary.count} responses, p50 ${summary.p50Ms} ms, p99 ${summary.p99Ms} ms (as measured).`);
      }
    }
    this.notes.add('autocannon does not retry: the items of a request answered with 429, 5xx or no response fail.');
  }

  private result(): LoadResult {
    const invalidReason = this.judgeRate();
    this.latencyNotes();
    const accounted = this.acknowledged.length + this.rejected.length + this.failed.length;
    const planned = Number.isFinite(this.settings.maxItems) ? this.settings.maxItems : this.allocator.handedOut;
    return {
      engine: 'autocannon',
      runId: this.context.runId,
      namespace: this.context.namespace,
      mode: this.resultMode(),
      startedAtMs: this.startedAtMs,
      endedAtMs: this.now(),
      totalItems: planned,
      acknowledged: [...this.acknowledged].sort((a, b) => a.seq - b.seq),
      rejected: this.rejected,
      failed: this.failed,
      notSent: Math.max(0, planned - accounted),
      requests: {
        total: this.requestCount,
        succeeded: this.succeeded,
        retried: 0,
        networkErrors: this.networkErrors,
        byStatus: this.byStatus,
      },
      chunks: [],
      latency: this.ratePerConnection === undefined ? this.rawLatency : this.correctedLatency,
      throughput: this.throughput.buckets(),
      notes: [...this.notes],
      invalidReasons: invalidReason ? [invalidReason] : [],
    };
  }
}

/** Creates the autocannon engine. */
export function createAutocannonEngine(): LoadEngine {
  return {
    name: 'autocannon',
    run: (spec, context) => new AutocannonRun(spec, context).execute(),
  };
}
