/**
 * One benchmark run of the evented pipeline. For each chunk size, closed-loop
 * load runs at rising concurrency until acknowledged items per second stops
 * growing (two steps in a row less than 5 % above the best step). After each step the run waits
 * until both stores hold its items. Then /store_bulk runs at a fixed rate of
 * half the best chunk-100 consistent rate (the rate the whole pipeline
 * sustains), for latency (from the intended send time) and the time to
 * consistency of one marker item per chunk.
 */
import type { ServiceStack } from '../harness/src/load/service-stack.js';
import { coresBetween, sampleProcessTrees } from './process-cpu.js';
import { trackMarkers, waitUntilConsistent, type ConsistencyTimes, type StoreReaders } from './consistency.js';
import { latencyFigures, runClosedLoop, runFixedRate, type BenchTarget } from './load-generator.js';

/** A step counts as growth only when it beats the best step so far by this share. */
export const GROWTH_THRESHOLD = 0.05;
/** The sweep stops after this many steps in a row without growth, so one noisy step does not end it. */
export const STEPS_WITHOUT_GROWTH = 2;
export const LATENCY_CHUNK_SIZE = 100;

export interface StepResult {
  concurrency: number;
  durationMs: number;
  requests: number;
  failedRequests: number;
  acknowledgedItems: number;
  acknowledgedItemsPerSecond: number;
  /** Items of the step divided by the time from its first request until both stores held all of them; 0 when they never did. */
  consistentItemsPerSecond: number;
  /** Time from the end of the load until both stores held every item. */
  drainMs: number | null;
  latencyP50Ms: number;
  latencyP99Ms: number;
  harnessCpuCores: number;
  /** Cores used by each process (and its children) during the load. */
  cpuByProcess: Record<string, number>;
}

export interface ChunkSweep {
  chunkSize: number;
  steps: StepResult[];
  maxAcknowledgedItemsPerSecond: number;
  maxConsistentItemsPerSecond: number;
  bestConcurrency: number;
  harnessCpuCoresAtMax: number;
}

export interface FixedRateResult {
  chunkSize: number;
  targetItemsPerSecond: number;
  achievedItemsPerSecond: number;
  durationMs: number;
  failedRequests: number;
  /** Latency from each chunk's intended send time (corrected for coordinated omission). */
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
  /** Latency from the actual send time, for comparison. */
  measuredLatencyP99Ms: number;
  timeToConsistency: ConsistencyTimes;
  harnessCpuCores: number;
  cpuByProcess: Record<string, number>;
}

export interface PipelineRunSettings {
  chunkSizes: number[];
  concurrencies: number[];
  stepMs: number;
  fixedRateMs: number;
  consistencyTimeoutMs: number;
}

export interface PipelineContext {
  stack: ServiceStack;
  stores: StoreReaders;
  namespace: string;
  /** PIDs of the backend processes by name, when known, for cpuByProcess. */
  backendPids: Record<string, number>;
  onStep?: (text: string) => void;
}

function round(value: number, digits = 1): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

function processRoots(context: PipelineContext): Record<string, number> {
  const roots: Record<string, number> = { ...context.backendPids, harness: process.pid };
  for (const info of context.stack.processes) roots[info.role] = info.pid;
  return roots;
}

async function runStep(context: PipelineContext, settings: PipelineRunSettings, chunkSize: number, concurrency: number): Promise<StepResult> {
  const target: BenchTarget = { apiUrl: context.stack.endpoints.apiUrl, namespace: context.namespace };
  const runId = `${context.namespace}-c${chunkSize}-n${concurrency}`;
  const roots = processRoots(context);
  const cpuBefore = sampleProcessTrees(roots);
  const outcome = await runClosedLoop(target, runId, chunkSize, concurrency, settings.stepMs);
  const durationMs = outcome.endMs - outcome.startMs;
  const cpuByProcess = coresBetween(cpuBefore, sampleProcessTrees(roots), durationMs);
  const consistentAt = await waitUntilConsistent(context.stores, runId, outcome.acknowledgedItems, settings.consistencyTimeoutMs);
  const latency = latencyFigures(outcome.latency);
  return {
    concurrency,
    durationMs: Math.round(durationMs),
    requests: outcome.requests,
    failedRequests: outcome.failedRequests,
    acknowledgedItems: outcome.acknowledgedItems,
    acknowledgedItemsPerSecond: Math.round(outcome.acknowledgedItems / (durationMs / 1000)),
    consistentItemsPerSecond: consistentAt === undefined ? 0 : Math.round(outcome.acknowledgedItems / ((consistentAt - outcome.startMs) / 1000)),
    drainMs: consistentAt === undefined ? null : Math.round(Math.max(0, consistentAt - outcome.endMs)),
    latencyP50Ms: latency.p50Ms,
    latencyP99Ms: latency.p99Ms,
    harnessCpuCores: round(outcome.harnessCpuMs / durationMs, 3),
    cpuByProcess,
  };
}

/** Raises concurrency for one chunk size until acknowledged items per second stops growing. */
export async function sweepChunkSize(context: PipelineContext, settings: PipelineRunSettings, chunkSize: number): Promise<ChunkSweep> {
  const steps: StepResult[] = [];
  let best: StepResult | undefined;
  let withoutGrowth = 0;
  for (const concurrency of settings.concurrencies) {
    const step = await runStep(context, settings, chunkSize, concurrency);
    steps.push(step);
    context.onStep?.(
      `chunk ${chunkSize} x ${concurrency}: ${step.acknowledgedItemsPerSecond} acknowledged/s, ${step.consistentItemsPerSecond} consistent/s, ` +
        `p99 ${step.latencyP99Ms} ms, harness ${step.harnessCpuCores} cores`,
    );
    const grew = best === undefined || step.acknowledgedItemsPerSecond > best.acknowledgedItemsPerSecond * (1 + GROWTH_THRESHOLD);
    if (best === undefined || step.acknowledgedItemsPerSecond > best.acknowledgedItemsPerSecond) best = step;
    withoutGrowth = grew ? 0 : withoutGrowth + 1;
    if (withoutGrowth >= STEPS_WITHOUT_GROWTH) break;
  }
  const top = best as StepResult;
  return {
    chunkSize,
    steps,
    maxAcknowledgedItemsPerSecond: top.acknowledgedItemsPerSecond,
    maxConsistentItemsPerSecond: Math.max(...steps.map((step) => step.consistentItemsPerSecond)),
    bestConcurrency: top.concurrency,
    harnessCpuCoresAtMax: top.harnessCpuCores,
  };
}

/** Sends chunks of 100 at `itemsPerSecond` and measures latency and time to consistency. */
export async function measureFixedRate(context: PipelineContext, settings: PipelineRunSettings, itemsPerSecond: number): Promise<FixedRateResult> {
  const target: BenchTarget = { apiUrl: context.stack.endpoints.apiUrl, namespace: context.namespace };
  const runId = `${context.namespace}-fixed`;
  const markers = trackMarkers(context.stores);
  const roots = processRoots(context);
  const cpuBefore = sampleProcessTrees(roots);
  const outcome = await runFixedRate(target, runId, LATENCY_CHUNK_SIZE, itemsPerSecond, settings.fixedRateMs, (id, atMs) => markers.add(id, atMs));
  const durationMs = outcome.endMs - outcome.startMs;
  const cpuByProcess = coresBetween(cpuBefore, sampleProcessTrees(roots), durationMs);
  const timeToConsistency = await markers.stop(settings.consistencyTimeoutMs);
  const corrected = latencyFigures(outcome.latency);
  const measured = latencyFigures(outcome.measuredLatency);
  context.onStep?.(
    `fixed rate ${Math.round(itemsPerSecond)} items/s: p50 ${corrected.p50Ms} ms, p99 ${corrected.p99Ms} ms, ` +
      `time to consistency p99 ${timeToConsistency.p99Ms} ms`,
  );
  return {
    chunkSize: LATENCY_CHUNK_SIZE,
    targetItemsPerSecond: Math.round(itemsPerSecond),
    achievedItemsPerSecond: Math.round(outcome.acknowledgedItems / (durationMs / 1000)),
    durationMs: Math.round(durationMs),
    failedRequests: outcome.failedRequests,
    latencyP50Ms: corrected.p50Ms,
    latencyP99Ms: corrected.p99Ms,
    latencyMaxMs: corrected.maxMs,
    measuredLatencyP99Ms: measured.p99Ms,
    timeToConsistency,
    harnessCpuCores: round(outcome.harnessCpuMs / durationMs, 3),
    cpuByProcess,
  };
}
