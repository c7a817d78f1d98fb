/**
 * The `k6` load engine: runs a TypeScript script from scenarios/k6/ with the
 * `k6` binary on PATH (k6 v1.0 or later). The harness generates the run's
 * items and writes them in chunks to a file the script reads, so every item
 * id is known before the run. Iteration N of the script sends chunk N and
 * reports its outcome in the soma_items_* counters, tagged with the chunk.
 * The engine follows k6's JSON output while k6 runs (acknowledgements reach
 * verification as they happen), then reads the summary export for the
 * thresholds k6 judged. With an arrival-rate executor, dropped_iterations and
 * the achieved rate decide whether the run reached its rate; a run that fell
 * short is invalid (exit 4).
 *
 * Without k6 on PATH a k6 scenario is a usage error (exit 2) before any load.
 * The workplace's CI does not install k6; tests drive this engine with the k6
 * stand-in in ./k6-stand-in.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HarnessError, EXIT_USAGE, usageError } from '../exit-codes.js';
import type { LoadSpec } from '../scenario/types.js';
import { findOnPath } from '../process/executables.js';
import { judgeArrivalRate } from './arrival-rate.js';
import { ENGINE_LATENCY_NOTES } from './coordinated-omission.js';
import { expectedContentHash } from './expected-hash.js';
import { generateItems, type GeneratedItem } from './items.js';
import { formatK6Duration, readK6Settings, type K6Settings } from './k6-options.js';
import { K6OutputReader, k6ThresholdResults, parseK6Summary, summaryCount, type K6ChunkOutcome, type K6Request, type K6Summary } from './k6-results.js';
import { createLatencyHistogram, recordLatencyMs, type Histogram } from './latency.js';
import { sleep } from './retry.js';
import { createThroughputTracker, type ThroughputTracker } from './throughput.js';
import type { AcknowledgedItem, FailedItem, LoadEngine, LoadProgress, LoadResult, LoadRunContext, RejectedItem } from './types.js';

export const K6_INSTALL_HINT =
  'install k6 v1.0 or later (a release binary of the Grafana k6 project or your OS package) and put `k6` on PATH; ' +
  "the harness's own CI does not install it, because the workplace's package policy excludes k6 (AGPL-3.0)";

const ROOT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** How often the engine reads what k6 appended to its JSON output. */
const TAIL_INTERVAL_MS = 250;
/** k6 exit codes after which its outputs are complete: 0 passed, 99 a threshold failed. */
const COMPLETED_EXIT_CODES = new Set([0, 99]);
/** After SIGINT (abort), k6 gets this long to write its summary before SIGKILL. */
const ABORT_GRACE_MS = 15_000;

export interface K6EngineDependencies {
  /** Environment whose PATH is searched for k6 and which k6 inherits; process.env by default. */
  env?: NodeJS.ProcessEnv;
  /** Repository root holding scenarios/k6; this checkout by default. */
  rootDir?: string;
}

function wallClock(): number {
  return performance.timeOrigin + performance.now();
}

/** Appends new bytes of a growing file to a reader. */
class FileTail {
  private offset = 0;

  constructor(
    private readonly path: string,
    private readonly onText: (text: string) => void,
  ) {}

  read(): void {
    if (!existsSync(this.path)) return;
    const size = statSync(this.path).size;
    if (size <= this.offset) return;
    const fd = openSync(this.path, 'r');
    try {
      const buffer = Buffer.alloc(size - this.offset);
      const read = readSync(fd, buffer, 0, buffer.length, this.offset);
      this.offset += read;
      this.onText(buffer.subarray(0, read).toString('utf8'));
    } finally {
      closeSync(fd);
    }
  }
}

interface ChunkState {
  requests: number;
  settled: boolean;
}

/** One execution of a k6 load. */
class K6Run {
  private readonly now: () => number;
  private readonly settings: K6Settings;
  private readonly workDir: string;
  private readonly chunks: GeneratedItem[][] = [];
  private readonly chunkStates = new Map<number, ChunkState>();
  private readonly latency: Histogram = createLatencyHistogram();
  private readonly throughput: ThroughputTracker;
  private readonly acknowledged: AcknowledgedItem[] = [];
  private readonly rejected: RejectedItem[] = [];
  private readonly failed: FailedItem[] = [];
  private readonly modes = new Set<string>();
  private readonly byStatus: Record<string, number> = {};
  private readonly notes: string[] = [];
  private readonly reader: K6OutputReader;
  private startedAtMs = 0;
  private requests = 0;
  private succeeded = 0;
  private retried = 0;
  private networkErrors = 0;

  constructor(
    private readonly spec: LoadSpec,
    private readonly context: LoadRunContext,
    private readonly k6: string,
    private readonly env: NodeJS.ProcessEnv,
    rootDir: string,
  ) {
    this.now = context.now ?? wallClock;
    this.settings = readK6Settings(spec, context.thresholds ?? {}, rootDir);
    this.workDir = mkdtempSync(join(tmpdir(), `soma-k6-${context.runId.slice(0, 40)}-`));
    this.throughput = createThroughputTracker(this.now());
    this.reader = new K6OutputReader({ onRequest: (request) => this.onRequest(request), onOutcome: (outcome) => this.onOutcome(outcome) });
  }

  private path(name: string): string {
    return join(this.workDir, name);
  }

  async execute(): Promise<LoadResult> {
    this.writeChunks();
    this.startedAtMs = this.now();
    const exitCode = await this.runK6();
    const summary = this.readSummary();
    if (!COMPLETED_EXIT_CODES.has(exitCode) && !this.context.signal.aborted) throw this.failure(exitCode);
    this.settleUnreported();
    rmSync(this.path('chunks.json'), { force: true });
    return this.result(exitCode, summary);
  }

  /** Generates the run's items and writes them as /store_bulk bodies, one per chunk. */
  private writeChunks(): void {
    const { items, chunkSize } = this.settings;
    const itemOptions = {
      runId: this.context.runId,
      namespace: this.context.namespace,
      seed: this.spec.seed,
      shapes: this.spec.shapes,
      invalidItems: this.spec.invalidItems,
      textLength: this.spec.textLength,
    };
    const bodies: { body: string; ids: string[] }[] = [];
    for (let from = 0; from < items; from += chunkSize) {
      const chunk = generateItems(from, Math.min(items, from + chunkSize), itemOptions);
      this.chunks.push(chunk);
      bodies.push({ body: JSON.stringify({ items: chunk.map((item) => item.body) }), ids: chunk.map((item) => item.id) });
    }
    writeFileSync(this.path('chunks.json'), JSON.stringify(bodies));
  }

  private k6Env(): NodeJS.ProcessEnv {
    const { settings } = this;
    const env: NodeJS.ProcessEnv = {
      ...this.env,
      SOMA_API_URL: this.context.endpoints.apiUrl,
      SOMA_RUN_ID: this.context.runId,
      SOMA_CHUNKS_FILE: this.path('chunks.json'),
      SOMA_EXECUTOR: settings.executor,
      SOMA_VUS: String(settings.vus),
      SOMA_MAX_VUS: String(settings.maxVUs),
      SOMA_MAX_ATTEMPTS: String(this.spec.retry.maxAttempts),
      SOMA_RETRY_BASE_MS: String(this.spec.retry.baseDelayMs),
      SOMA_RETRY_MAX_MS: String(this.spec.retry.maxDelayMs),
      SOMA_REQUEST_TIMEOUT: formatK6Duration(this.spec.requestTimeoutMs),
      SOMA_THRESHOLDS: JSON.stringify(settings.thresholds),
    };
    if (this.context.endpoints.apiToken) env.SOMA_API_TOKEN = this.context.endpoints.apiToken;
    if (settings.iterationsPerSecond !== undefined) env.SOMA_RATE = String(settings.iterationsPerSecond);
    if (settings.durationMs !== undefined) env.SOMA_DURATION = formatK6Duration(settings.durationMs);
    return env;
  }

  /** Runs `k6 run`, following its JSON output; resolves with its exit code. */
  private async runK6(): Promise<number> {
    const args = [
      'run', '--quiet', '--no-color', '--no-usage-report', '--include-system-env-vars',
      '--summary-export', this.path('summary.json'),
      '--out', `json=${this.path('k6-output.json')}`,
      this.settings.script,
    ];
    const logFd = openSync(this.path('k6.log'), 'w');
    const child = spawn(this.k6, args, { cwd: this.workDir, env: this.k6Env(), stdio: ['ignore', logFd, logFd] });
    closeSync(logFd);
    this.notes.push(`k6 ran: ${this.k6} ${args.join(' ')} (output and log in ${this.workDir})`);

    const exited = new Promise<number>((resolvePromise) => {
      child.once('error', () => resolvePromise(127));
      child.once('exit', (code, signal) => resolvePromise(code ?? (signal ? 128 : 1)));
    });
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      child.kill('SIGINT');
      killTimer = setTimeout(() => child.kill('SIGKILL'), ABORT_GRACE_MS);
    };
    this.context.signal.addEventListener('abort', onAbort, { once: true });

    const tail = new FileTail(this.path('k6-output.json'), (text) => this.reader.feed(text));
    let done = false;
    const code = exited.then((exitCode) => {
      done = true;
      return exitCode;
    });
    while (!done) {
      await Promise.race([code, sleep(TAIL_INTERVAL_MS)]);
      tail.read();
    }
    tail.read();
    this.reader.end();
    this.context.signal.removeEventListener('abort', onAbort);
    if (killTimer) clearTimeout(killTimer);
    return code;
  }

  private readSummary(): K6Summary | undefined {
    const file = this.path('summary.json');
    if (!existsSync(file)) return undefined;
    try {
      return parseK6Summary(JSON.parse(readFileSync(file, 'utf8')) as unknown);
    } catch {
      return undefined;
    }
  }

  private failure(exitCode: number): HarnessError {
    const log = existsSync(this.path('k6.log')) ? readFileSync(this.path('k6.log'), 'utf8').trim().split('\n').slice(-15).join('\n') : '';
    return new HarnessError(`k6 exited with code ${exitCode} running ${this.settings.script}:\n${log}`, {
      exitCode: EXIT_USAGE,
      hint: `read ${this.path('k6.log')}; exit code 107 is an exception in the script, 104 an invalid option, 108 exec.test.abort()`,
    });
  }

  private chunkState(chunk: number): ChunkState {
    let state = this.chunkStates.get(chunk);
    if (!state) {
      state = { requests: 0, settled: false };
      this.chunkStates.set(chunk, state);
    }
    return state;
  }

  private onRequest(request: K6Request): void {
    const ok = request.status >= 200 && request.status < 300;
    this.requests += 1;
    this.byStatus[request.status] = (this.byStatus[request.status] ?? 0) + 1;
    if (request.status === 0) this.networkErrors += 1;
    if (request.chunk !== undefined) {
      const state = this.chunkState(request.chunk);
      if (state.requests > 0) this.retried += 1;
      state.requests += 1;
    }
    this.throughput.recordRequest(request.atMs, { ok, latencyMs: request.durationMs, retried: false });
    if (!ok) return;
    this.succeeded += 1;
    recordLatencyMs(this.latency, request.durationMs);
  }

  /** Accounts the items of one chunk from the outcome its iteration reported. */
  private onOutcome(outcome: K6ChunkOutcome): void {
    const items = this.chunks[outcome.chunk];
    if (!items) return;
    if (outcome.kind === 'rejected') {
      for (const [index, code] of outcome.rejected) {
        const item = items[index];
        if (item) this.rejected.push({ id: item.id, seq: item.seq, status: outcome.status, code, message: `rejected by the API (reported by k6, chunk ${outcome.chunk})` });
      }
      if (outcome.status < 200 || outcome.status >= 300) this.chunkState(outcome.chunk).settled = true;
      return;
    }
    const state = this.chunkState(outcome.chunk);
    if (state.settled) return;
    state.settled = true;
    const unrejected = items.filter((_, index) => !outcome.rejected.has(index));
    if (outcome.kind === 'acknowledged' && outcome.count === unrejected.length) {
      this.acknowledge(unrejected, outcome);
      return;
    }
    const reason =
      outcome.kind === 'acknowledged'
        ? `HTTP ${outcome.status}: ${outcome.count} of ${unrejected.length} items acknowledged, so the chunk's items count as failed`
        : (outcome.reason ?? `HTTP ${outcome.status}`);
    for (const item of unrejected) this.failed.push({ id: item.id, seq: item.seq, attempts: state.requests, reason });
    this.throughput.recordItems(outcome.atMs, { acknowledged: 0, rejected: 0, failed: unrejected.length });
    this.context.hooks?.onProgress?.(this.progress());
  }

  private acknowledge(items: readonly GeneratedItem[], outcome: K6ChunkOutcome): void {
    if (outcome.mode) this.modes.add(outcome.mode);
    const acknowledged = items.map((item) => ({
      id: item.id,
      seq: item.seq,
      ackAtMs: outcome.atMs,
      expectedHash: expectedContentHash(item.body, this.context.namespace),
    }));
    this.acknowledged.push(...acknowledged);
    this.throughput.recordItems(outcome.atMs, { acknowledged: acknowledged.length, rejected: outcome.rejected.size, failed: 0 });
    if (acknowledged.length > 0) this.context.hooks?.onAcknowledged?.(acknowledged);
    this.context.hooks?.onProgress?.(this.progress());
  }

  /** Chunks that were requested but never reported an outcome failed; chunks never requested were not sent. */
  private settleUnreported(): void {
    for (const [chunk, state] of this.chunkStates) {
      if (state.settled) continue;
      const rejectedIds = new Set(this.rejected.map((item) => item.id));
      for (const item of this.chunks[chunk] ?? []) {
        if (rejectedIds.has(item.id)) continue;
        this.failed.push({ id: item.id, seq: item.seq, attempts: state.requests, reason: 'k6 reported no outcome for this chunk: its iteration was interrupted or the script failed' });
      }
    }
  }

  private progress(): LoadProgress {
    return {
      totalItems: this.settings.items,
      sentItems: [...this.chunkStates.keys()].reduce((total, chunk) => total + (this.chunks[chunk]?.length ?? 0), 0),
      acknowledgedItems: this.acknowledged.length,
      rejectedItems: this.rejected.length,
      failedItems: this.failed.length,
      retries: this.retried,
      elapsedMs: this.now() - this.startedAtMs,
    };
  }

  private resultMode(): LoadResult['mode'] {
    if (this.modes.size === 0) return 'unknown';
    if (this.modes.size > 1) return 'mixed';
    const [mode] = [...this.modes];
    return mode === 'evented' || mode === 'direct' ? mode : 'unknown';
  }

  private judgeRate(summary: K6Summary | undefined): string | undefined {
    const { settings } = this;
    if (settings.executor !== 'constant-arrival-rate' || settings.iterationsPerSecond === undefined || settings.durationMs === undefined) return undefined;
    const verdict = judgeArrivalRate({
      unit: 'iterations',
      targetPerSecond: settings.iterationsPerSecond,
      windowMs: settings.durationMs,
      started: summaryCount(summary, 'iterations') ?? this.reader.iterations,
      dropped: summaryCount(summary, 'dropped_iterations') ?? this.reader.droppedIterations,
      maxShortfall: settings.maxRateShortfall,
      fix: `raise load.options.maxVUs (now ${settings.maxVUs}) or load.concurrency, lower load.rate, or find what slowed the service`,
    });
    this.notes.push(
      `k6 constant-arrival-rate: target ${verdict.targetPerSecond} iterations/s (chunks of ${settings.chunkSize}), achieved ${verdict.achievedPerSecond}/s, ` +
        `${verdict.dropped} dropped_iterations.`,
    );
    return verdict.invalidReason;
  }

  private result(exitCode: number, summary: K6Summary | undefined): LoadResult {
    const invalidReason = this.judgeRate(summary);
    this.notes.push(this.settings.executor === 'constant-arrival-rate' ? ENGINE_LATENCY_NOTES.k6ArrivalRate : ENGINE_LATENCY_NOTES.k6ClosedModel);
    this.notes.push(summary ? `k6 summary read (${summary.format} format), k6 exit code ${exitCode}.` : `k6 wrote no readable summary (exit code ${exitCode}).`);
    const accounted = this.acknowledged.length + this.rejected.length + this.failed.length;
    return {
      engine: 'k6',
      runId: this.context.runId,
      namespace: this.context.namespace,
      mode: this.resultMode(),
      startedAtMs: this.startedAtMs,
      endedAtMs: this.now(),
      totalItems: this.settings.items,
      acknowledged: [...this.acknowledged].sort((a, b) => a.seq - b.seq),
      rejected: this.rejected,
      failed: this.failed,
      notSent: Math.max(0, this.settings.items - accounted),
      requests: { total: this.requests, succeeded: this.succeeded, retried: this.retried, networkErrors: this.networkErrors, byStatus: this.byStatus },
      chunks: [],
      latency: this.latency,
      throughput: this.throughput.buckets(),
      notes: this.notes,
      invalidReasons: invalidReason ? [invalidReason] : [],
      engineThresholds: k6ThresholdResults(summary, exitCode, this.settings.thresholds),
    };
  }
}

/** Finds the k6 binary on the PATH of `env`. */
export function findK6(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return findOnPath('k6', env);
}

/** Creates the k6 engine; without k6 on PATH this is a usage error (exit 2) naming what to install. */
export function createK6Engine(dependencies: K6EngineDependencies = {}): LoadEngine {
  const env = dependencies.env ?? process.env;
  const k6 = findK6(env);
  if (!k6) throw usageError('the k6 engine needs the k6 binary, and `k6` is not on PATH', K6_INSTALL_HINT);
  const rootDir = dependencies.rootDir ?? ROOT_DIR;
  return {
    name: 'k6',
    run: (spec, context) => new K6Run(spec, context, k6, env, rootDir).execute(),
  };
}
