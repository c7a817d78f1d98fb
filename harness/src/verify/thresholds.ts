/**
 * The figures of a scenario run (named plainly, unit in the name, so
 * `compare` can read them from any summary) and the thresholds judged on them.
 */
import type { Thresholds } from '../scenario/types.js';
import type { LatencySummary } from '../load/latency.js';
import type { CpuSummary } from '../load/cpu-monitor.js';
import type { VerificationResult } from './types.js';

/** Numbers of one scenario run. Names ending in Ms are lower-is-better, PerSecond higher-is-better. */
export type Figures = Record<string, number>;

export interface FigureInputs {
  latency: LatencySummary;
  acknowledgedItems: number;
  loadDurationMs: number;
  verification: VerificationResult;
  cpu: CpuSummary;
}

/** Computes the run's figures; a figure that was not measured is left out. */
export function computeFigures(inputs: FigureInputs): Figures {
  const { latency, verification, cpu } = inputs;
  const figures: Figures = {};
  if (latency.count > 0) {
    figures.latencyP50Ms = latency.p50Ms;
    figures.latencyP90Ms = latency.p90Ms;
    figures.latencyP99Ms = latency.p99Ms;
    figures.latencyMaxMs = latency.maxMs;
  }
  if (inputs.loadDurationMs > 0) {
    figures.acknowledgedItemsPerSecond = Math.round((inputs.acknowledgedItems / inputs.loadDurationMs) * 1000 * 10) / 10;
  }
  let worstP99: number | undefined;
  for (const store of verification.consistency) {
    if (store.visible === 0) continue;
    const name = store.store === 'postgres' ? 'Postgres' : 'Qdrant';
    figures[`consistency${name}P50Ms`] = store.p50Ms;
    figures[`consistency${name}P95Ms`] = store.p95Ms;
    figures[`consistency${name}P99Ms`] = store.p99Ms;
    worstP99 = Math.max(worstP99 ?? 0, store.p99Ms);
  }
  if (worstP99 !== undefined) figures.consistencyP99Ms = worstP99;
  if (verification.lag.checked && verification.lag.summary.timeToDrainMs !== null) {
    figures.lagDrainMs = verification.lag.summary.timeToDrainMs;
  }
  figures.harnessCpuCores = cpu.meanCores;
  return figures;
}

export interface ThresholdResult {
  /** The threshold's key in the scenario, e.g. latencyP99Ms. */
  name: string;
  /** The figure it is judged on. */
  figure: string;
  comparator: '<=' | '>=';
  limit: number;
  measured: number | null;
  status: 'passed' | 'failed' | 'not-measured';
  message: string;
}

interface ThresholdDefinition {
  figure: string;
  comparator: '<=' | '>=';
  unit: string;
  describe: string;
}

const DEFINITIONS: Record<keyof Thresholds, ThresholdDefinition> = {
  latencyP50Ms: { figure: 'latencyP50Ms', comparator: '<=', unit: 'ms', describe: 'p50 latency' },
  latencyP99Ms: { figure: 'latencyP99Ms', comparator: '<=', unit: 'ms', describe: 'p99 latency' },
  minItemsPerSecond: { figure: 'acknowledgedItemsPerSecond', comparator: '>=', unit: 'items/s', describe: 'acknowledged items per second' },
  consistencyP99Ms: { figure: 'consistencyP99Ms', comparator: '<=', unit: 'ms', describe: 'p99 time to consistency (worst store)' },
  drainMs: { figure: 'lagDrainMs', comparator: '<=', unit: 'ms', describe: 'time for lag to drain after the load' },
  maxFailedItems: { figure: 'failedItems', comparator: '<=', unit: 'items', describe: 'failed items' },
  maxRejectedItems: { figure: 'rejectedItems', comparator: '<=', unit: 'items', describe: 'rejected items' },
};

/** Judges each threshold of the scenario; counts (failed, rejected items) come in `counts`. */
export function evaluateThresholds(thresholds: Thresholds, figures: Figures, counts: { failedItems: number; rejectedItems: number }): ThresholdResult[] {
  const values: Record<string, number | undefined> = { ...figures, ...counts };
  return (Object.keys(thresholds) as (keyof Thresholds)[])
    .filter((name) => thresholds[name] !== undefined && DEFINITIONS[name] !== undefined)
    .map((name) => {
      const definition = DEFINITIONS[name];
      const limit = thresholds[name] as number;
      const measured = values[definition.figure];
      if (measured === undefined) {
        return {
          name,
          figure: definition.figure,
          comparator: definition.comparator,
          limit,
          measured: null,
          status: 'not-measured',
          message: `${definition.describe} was not measured in this run (limit ${definition.comparator} ${limit} ${definition.unit})`,
        };
      }
      const passed = definition.comparator === '<=' ? measured <= limit : measured >= limit;
      return {
        name,
        figure: definition.figure,
        comparator: definition.comparator,
        limit,
        measured,
        status: passed ? 'passed' : 'failed',
        message: `${definition.describe} ${measured} ${definition.unit}, limit ${definition.comparator} ${limit} ${definition.unit}`,
      };
    });
}
