/**
 * The benchmark's result document, validated by schemas/bench.schema.json. It
 * contains every run's measurements and the targets judged on the medians.
 * The medians over the runs are plainly named `figures` with the unit and
 * direction in the name, so `soma-harness compare` reads them as it reads
 * run summaries.
 */
import { join } from 'node:path';
import { compileSchemaFile } from '../harness/src/scenario/schema-errors.js';
import type { BackendRates } from './backends-alone.js';
import type { ChunkSweep, FixedRateResult, PipelineRunSettings } from './pipeline.js';
import { LATENCY_CHUNK_SIZE } from './pipeline.js';

export const BENCH_FORMAT_VERSION = 1;

export interface BenchRun {
  run: number;
  namespace: string;
  pipeline: ChunkSweep[];
  fixedRate: FixedRateResult;
  backends: BackendRates;
}

export interface TargetCheck {
  name: string;
  figure: string;
  comparator: '<=' | '>=' | '<';
  limit: number;
  measured: number | null;
  met: boolean;
}

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryMb: number;
  platform: string;
  node: string;
  /** 1-minute load average before and after the benchmark. */
  loadAverageBefore: number;
  loadAverageAfter: number;
}

export interface BenchResult {
  formatVersion: typeof BENCH_FORMAT_VERSION;
  tool: 'soma-bench';
  mode: 'full' | 'quick';
  startedAt: string;
  endedAt: string;
  durationMs: number;
  command: string;
  gitSha: string | null;
  machine: MachineInfo;
  settings: PipelineRunSettings & { runs: number; backendItems: number };
  /** Medians over the runs. */
  figures: Record<string, number>;
  targets: TargetCheck[];
  runs: BenchRun[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

function round(value: number, digits = 1): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** Computes the median figures over the runs. */
export function computeFigures(runs: readonly BenchRun[]): Record<string, number> {
  const figures: Record<string, number> = {};
  const put = (name: string, values: number[], digits = 1) => {
    figures[name] = round(median(values), digits);
  };
  const chunkSizes = [...new Set(runs.flatMap((run) => run.pipeline.map((sweep) => sweep.chunkSize)))].sort((a, b) => a - b);
  for (const size of chunkSizes) {
    const sweeps = runs.flatMap((run) => run.pipeline.filter((sweep) => sweep.chunkSize === size));
    put(`chunk${size}AcknowledgedItemsPerSecond`, sweeps.map((sweep) => sweep.maxAcknowledgedItemsPerSecond), 0);
    put(`chunk${size}ConsistentItemsPerSecond`, sweeps.map((sweep) => sweep.maxConsistentItemsPerSecond), 0);
    put(`chunk${size}HarnessCpuCoresAtMax`, sweeps.map((sweep) => sweep.harnessCpuCoresAtMax), 3);
  }
  const fixed = runs.map((run) => run.fixedRate);
  put('halfRateItemsPerSecond', fixed.map((result) => result.targetItemsPerSecond), 0);
  put('storeBulkLatencyP50Ms', fixed.map((result) => result.latencyP50Ms));
  put('storeBulkLatencyP99Ms', fixed.map((result) => result.latencyP99Ms));
  put('storeBulkMeasuredLatencyP99Ms', fixed.map((result) => result.measuredLatencyP99Ms));
  put('timeToConsistencyP50Ms', fixed.map((result) => result.timeToConsistency.p50Ms));
  put('timeToConsistencyP99Ms', fixed.map((result) => result.timeToConsistency.p99Ms));
  put('harnessCpuCoresAtHalfRate', fixed.map((result) => result.harnessCpuCores), 3);

  const backends = runs.map((run) => run.backends);
  put('postgresUpsertItemsPerSecond', backends.map((rates) => rates.postgresUpsertItemsPerSecond), 0);
  put('kafkaProduceItemsPerSecond', backends.map((rates) => rates.kafkaProduceItemsPerSecond), 0);
  put('qdrantUpsertItemsPerSecond', backends.map((rates) => rates.qdrantUpsertItemsPerSecond), 0);
  const slowest = Math.min(figures.postgresUpsertItemsPerSecond ?? 0, figures.kafkaProduceItemsPerSecond ?? 0, figures.qdrantUpsertItemsPerSecond ?? 0);
  figures.slowestBackendItemsPerSecond = slowest;
  const consistent = figures[`chunk${LATENCY_CHUNK_SIZE}ConsistentItemsPerSecond`];
  if (consistent !== undefined && slowest > 0) figures.pipelineShareOfSlowestBackend = round(consistent / slowest, 3);
  return figures;
}

/** Returns the name of the slowest backend by the median figures. */
export function slowestBackend(figures: Record<string, number>): string {
  const rates: [string, number][] = [
    ['postgres', figures.postgresUpsertItemsPerSecond ?? Number.POSITIVE_INFINITY],
    ['kafka', figures.kafkaProduceItemsPerSecond ?? Number.POSITIVE_INFINITY],
    ['qdrant', figures.qdrantUpsertItemsPerSecond ?? Number.POSITIVE_INFINITY],
  ];
  return rates.sort((a, b) => a[1] - b[1])[0]?.[0] ?? 'unknown';
}

/** Judges the targets for a 2-core machine at chunk size 100 on the medians. */
export function judgeTargets(figures: Record<string, number>): TargetCheck[] {
  const check = (name: string, figure: string, comparator: TargetCheck['comparator'], limit: number): TargetCheck => {
    const measured = figures[figure];
    let met = false;
    if (measured !== undefined && comparator === '<=') met = measured <= limit;
    if (measured !== undefined && comparator === '>=') met = measured >= limit;
    if (measured !== undefined && comparator === '<') met = measured < limit;
    return { name, figure, comparator, limit, measured: measured ?? null, met };
  };
  return [
    check('acknowledged items/s at chunk size 100', `chunk${LATENCY_CHUNK_SIZE}AcknowledgedItemsPerSecond`, '>=', 20_000),
    check('consistent items/s at chunk size 100 (both stores)', `chunk${LATENCY_CHUNK_SIZE}ConsistentItemsPerSecond`, '>=', 20_000),
    check('/store_bulk p99 at half the maximum consistent rate', 'storeBulkLatencyP99Ms', '<=', 25),
    check('time to consistency p99', 'timeToConsistencyP99Ms', '<=', 500),
    check('load generator CPU at the maximum rate (cores)', `chunk${LATENCY_CHUNK_SIZE}HarnessCpuCoresAtMax`, '<', 0.25),
  ];
}

/** Validates a result against schemas/bench.schema.json; returns the problems, empty when valid. */
export function validateBenchResult(result: unknown, rootDir: string): string[] {
  const validate = compileSchemaFile(join(rootDir, 'schemas', 'bench.schema.json'));
  if (validate(result)) return [];
  return (validate.errors ?? []).map((error) => `${error.instancePath || '/'}: ${error.message ?? 'invalid'}`);
}
