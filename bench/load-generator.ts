/**
 * The benchmark's own load generator: /store_bulk requests over keep-alive
 * connections with items built from a template (about a microsecond each),
 * so that the harness's share of the 2 cores stays small. Two modes:
 *
 * - closed loop: `concurrency` requests in flight, each connection sending
 *   its next chunk when the previous one was answered, for a fixed time;
 * - fixed rate: chunks sent on a schedule, latency measured from each chunk's
 *   intended send time, so a stall is not hidden (coordinated omission).
 */
import http from 'node:http';
import { createLatencyHistogram, recordLatencyMs, summarizeLatency, type Histogram } from '../harness/src/load/latency.js';
import { latencyFromIntendedStartMs } from '../harness/src/load/coordinated-omission.js';

const WORDS = ['amber', 'harbor', 'lantern', 'meadow', 'quartz', 'river', 'signal', 'timber', 'vector', 'willow', 'beacon', 'cobalt'];

export interface BenchTarget {
  apiUrl: string;
  token?: string;
  namespace: string;
}

/** Builds item `seq` of a run: a flat item with about 100 characters of text. */
export function benchItem(runId: string, namespace: string, seq: number): Record<string, unknown> {
  const words = [WORDS[seq % 12], WORDS[(seq >> 2) % 12], WORDS[(seq >> 4) % 12], WORDS[(seq >> 6) % 12]].join(' ');
  return {
    id: `${runId}-${seq}`,
    text: `bench item ${seq}: ${words} ${words} ${words} ${words}`,
    run_id: runId,
    namespace,
    type: 'episodic',
    payload: { seq, source: 'soma-bench' },
  };
}

/** Builds the /store_bulk body of items [from, from + size). */
export function chunkBody(runId: string, namespace: string, from: number, size: number): Buffer {
  const items: Record<string, unknown>[] = [];
  for (let seq = from; seq < from + size; seq += 1) items.push(benchItem(runId, namespace, seq));
  return Buffer.from(JSON.stringify({ items }));
}

interface Posted {
  status: number;
  accepted: number;
  respondedAtMs: number;
}

function post(agent: http.Agent, url: URL, body: Buffer, token: string | undefined): Promise<Posted> {
  return new Promise((resolve) => {
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json', 'content-length': body.length };
    if (token) headers.authorization = `Bearer ${token}`;
    const request = http.request(url, { method: 'POST', agent, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const status = response.statusCode ?? 0;
        let accepted = 0;
        if (status >= 200 && status < 300) {
          const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { accepted?: number };
          accepted = parsed.accepted ?? 0;
        }
        resolve({ status, accepted, respondedAtMs: performance.now() });
      });
      response.on('error', () => resolve({ status: 0, accepted: 0, respondedAtMs: performance.now() }));
    });
    request.on('error', () => resolve({ status: 0, accepted: 0, respondedAtMs: performance.now() }));
    request.end(body);
  });
}

export interface LoadOutcome {
  runId: string;
  /** performance.now() at the first request and when the load ended. */
  startMs: number;
  endMs: number;
  requests: number;
  failedRequests: number;
  acknowledgedItems: number;
  /** performance.now() of each acknowledged chunk's response, with its first item's id (fixed-rate mode only). */
  acknowledgements: { id: string; atMs: number }[];
  latency: Histogram;
  /** Latency from the actual send time (fixed-rate mode); equal to `latency` in a closed loop. */
  measuredLatency: Histogram;
  harnessCpuMs: number;
}

function newOutcome(runId: string): LoadOutcome {
  return {
    runId,
    startMs: performance.now(),
    endMs: 0,
    requests: 0,
    failedRequests: 0,
    acknowledgedItems: 0,
    acknowledgements: [],
    latency: createLatencyHistogram(),
    measuredLatency: createLatencyHistogram(),
    harnessCpuMs: 0,
  };
}

function cpuMs(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1000;
}

/** Sends chunks of `chunkSize` from `concurrency` connections, each waiting for its response, for `durationMs`. */
export async function runClosedLoop(target: BenchTarget, runId: string, chunkSize: number, concurrency: number, durationMs: number): Promise<LoadOutcome> {
  const url = new URL('/store_bulk', target.apiUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const outcome = newOutcome(runId);
  const cpuBefore = process.cpuUsage();
  const endAt = outcome.startMs + durationMs;
  let nextSeq = 0;

  const worker = async () => {
    while (performance.now() < endAt) {
      const from = nextSeq;
      nextSeq += chunkSize;
      const sentAt = performance.now();
      const result = await post(agent, url, chunkBody(runId, target.namespace, from, chunkSize), target.token);
      outcome.requests += 1;
      if (result.status < 200 || result.status >= 300) {
        outcome.failedRequests += 1;
        continue;
      }
      outcome.acknowledgedItems += result.accepted;
      recordLatencyMs(outcome.latency, result.respondedAtMs - sentAt);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  outcome.endMs = performance.now();
  outcome.harnessCpuMs = cpuMs(process.cpuUsage(cpuBefore));
  agent.destroy();
  outcome.measuredLatency = outcome.latency;
  return outcome;
}

/**
 * Sends one chunk every 1000 * chunkSize / itemsPerSecond ms for `durationMs`,
 * with at most `maxInFlight` requests open. A chunk whose turn comes while
 * all are busy waits, and its latency still counts from its intended time.
 */
export async function runFixedRate(
  target: BenchTarget,
  runId: string,
  chunkSize: number,
  itemsPerSecond: number,
  durationMs: number,
  onAcknowledged?: (id: string, atMs: number) => void,
  maxInFlight = 64,
): Promise<LoadOutcome> {
  const url = new URL('/store_bulk', target.apiUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: maxInFlight });
  const outcome = newOutcome(runId);
  const cpuBefore = process.cpuUsage();
  const intervalMs = (1000 * chunkSize) / itemsPerSecond;
  const chunks = Math.max(1, Math.floor(durationMs / intervalMs));
  let next = 0;

  const worker = async () => {
    for (;;) {
      const index = next;
      if (index >= chunks) return;
      next += 1;
      const intendedAt = outcome.startMs + index * intervalMs;
      const waitMs = intendedAt - performance.now();
      if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
      const sentAt = performance.now();
      const from = index * chunkSize;
      const result = await post(agent, url, chunkBody(runId, target.namespace, from, chunkSize), target.token);
      outcome.requests += 1;
      if (result.status < 200 || result.status >= 300) {
        outcome.failedRequests += 1;
        continue;
      }
      outcome.acknowledgedItems += result.accepted;
      outcome.acknowledgements.push({ id: `${runId}-${from}`, atMs: result.respondedAtMs });
      onAcknowledged?.(`${runId}-${from}`, result.respondedAtMs);
      recordLatencyMs(outcome.latency, latencyFromIntendedStartMs(intendedAt, sentAt, result.respondedAtMs));
      recordLatencyMs(outcome.measuredLatency, result.respondedAtMs - sentAt);
    }
  };
  await Promise.all(Array.from({ length: maxInFlight }, worker));
  outcome.endMs = performance.now();
  outcome.harnessCpuMs = cpuMs(process.cpuUsage(cpuBefore));
  agent.destroy();
  return outcome;
}

export function latencyFigures(histogram: Histogram): { p50Ms: number; p99Ms: number; maxMs: number; count: number } {
  const summary = summarizeLatency(histogram);
  return { p50Ms: summary.p50Ms, p99Ms: summary.p99Ms, maxMs: summary.maxMs, count: summary.count };
}
