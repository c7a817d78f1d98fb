/**
 * Thresholds and the end-of-test summary of the k6 stand-in, in the format of
 * k6 v1's `--summary-export` file. It has one object per metric and per
 * sub-metric (such as `http_req_duration{expected_response:true}`) with its
 * statistics. Its `thresholds` map each expression to true when it FAILED,
 * the inverted meaning that k6 kept in that file for compatibility.
 */
import { runtime, type MetricType, type Sample } from './runtime.js';

export const DEFAULT_TREND_STATS = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)'];
const EXPECTED_RESPONSE_SUBMETRIC = 'http_req_duration{expected_response:true}';

interface Selection {
  type: MetricType;
  samples: Sample[];
}

export interface ThresholdOutcome {
  metric: string;
  expression: string;
  value: number | undefined;
  ok: boolean;
}

/** Samples of `key`, a metric name with an optional tag selector, e.g. http_req_duration{status:200}. */
function select(key: string): Selection | undefined {
  const match = /^([^{]+)(?:\{(.*)\})?$/.exec(key);
  const metric = match?.[1] ? runtime.metrics.get(match[1]) : undefined;
  if (!metric) return undefined;
  const selector = (match?.[2] ?? '')
    .split(',')
    .filter((part) => part.includes(':'))
    .map((part) => {
      const at = part.indexOf(':');
      return [part.slice(0, at).trim(), part.slice(at + 1).trim()] as const;
    });
  const samples = metric.samples.filter((sample) => selector.every(([tag, value]) => sample.tags[tag] === value));
  return { type: metric.type, samples };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  const lowValue = sorted[low] as number;
  return lowValue + ((sorted[high] as number) - lowValue) * (rank - low);
}

/** Computes one aggregation (count, rate, value, avg, min, max, med, p(N)) of the selected samples. */
function aggregate(selection: Selection, aggregation: string, durationSeconds: number): number | undefined {
  const values = selection.samples.map((sample) => sample.value);
  const sum = values.reduce((total, value) => total + value, 0);
  const sorted = [...values].sort((a, b) => a - b);
  const percentileMatch = /^p\(([0-9.]+)\)$/.exec(aggregation);
  if (percentileMatch) return selection.type === 'trend' ? percentile(sorted, Number(percentileMatch[1])) : undefined;
  switch (aggregation) {
    case 'count':
      return selection.type === 'counter' ? sum : values.length;
    case 'rate':
      if (selection.type === 'counter') return durationSeconds > 0 ? sum / durationSeconds : 0;
      return values.length > 0 ? values.filter((value) => value !== 0).length / values.length : 0;
    case 'value':
      return values.at(-1) ?? 0;
    case 'avg':
      return values.length > 0 ? sum / values.length : 0;
    case 'min':
      return sorted[0] ?? 0;
    case 'max':
      return sorted.at(-1) ?? 0;
    case 'med':
      return percentile(sorted, 50);
    default:
      return undefined;
  }
}

function compare(left: number, operator: string, right: number): boolean {
  switch (operator) {
    case '<':
      return left < right;
    case '<=':
      return left <= right;
    case '>':
      return left > right;
    case '>=':
      return left >= right;
    case '==':
    case '===':
      return left === right;
    case '!=':
      return left !== right;
    default:
      throw new Error(`unknown threshold operator ${operator}`);
  }
}

/** Evaluates every threshold of the script's options. */
export function evaluateThresholds(durationSeconds: number): ThresholdOutcome[] {
  const outcomes: ThresholdOutcome[] = [];
  for (const [metric, expressions] of Object.entries(runtime.thresholds)) {
    for (const expression of expressions) {
      const match = /^\s*([a-z]+|p\([0-9.]+\))\s*(<=|>=|===|==|!=|<|>)\s*(-?[0-9.]+)\s*$/.exec(expression);
      if (!match) throw new Error(`the k6 stand-in cannot parse threshold ${JSON.stringify(expression)} of ${metric}`);
      const selection = select(metric) ?? { type: 'counter' as const, samples: [] };
      const value = aggregate(selection, match[1] as string, durationSeconds);
      const ok = value !== undefined && compare(value, match[2] as string, Number(match[3]));
      outcomes.push({ metric, expression, value, ok });
    }
  }
  return outcomes;
}

function legacyValues(selection: Selection, trendStats: readonly string[], durationSeconds: number): Record<string, number> {
  const at = (aggregation: string) => aggregate(selection, aggregation, durationSeconds) ?? 0;
  switch (selection.type) {
    case 'counter':
      return { count: at('count'), rate: at('rate') };
    case 'gauge':
      return { value: at('value'), min: at('min'), max: at('max') };
    case 'rate': {
      const passes = selection.samples.filter((sample) => sample.value !== 0).length;
      return { passes, fails: selection.samples.length - passes, value: at('rate') };
    }
    case 'trend':
      return Object.fromEntries(trendStats.map((stat) => [stat, at(stat)]));
  }
}

/** Builds the summary-export document: metrics with statistics and inverted threshold flags, plus the run's duration. */
export function buildSummaryExport(outcomes: readonly ThresholdOutcome[], trendStats: readonly string[], durationMs: number): unknown {
  const durationSeconds = durationMs / 1000;
  const keys = new Set<string>([...runtime.metrics.keys(), ...Object.keys(runtime.thresholds)]);
  if (runtime.metrics.get('http_req_duration')?.samples.length) keys.add(EXPECTED_RESPONSE_SUBMETRIC);

  const metrics: Record<string, Record<string, unknown>> = {};
  for (const key of [...keys].sort()) {
    const selection = select(key);
    if (!selection) continue;
    const entry: Record<string, unknown> = legacyValues(selection, trendStats, durationSeconds);
    const own = outcomes.filter((outcome) => outcome.metric === key);
    if (own.length > 0) entry.thresholds = Object.fromEntries(own.map((outcome) => [outcome.expression, !outcome.ok]));
    metrics[key] = entry;
  }
  return {
    root_group: { name: '', path: '', id: 'd41d8cd98f00b204e9800998ecf8427e', groups: {}, checks: {} },
    options: { summaryTrendStats: trendStats, summaryTimeUnit: '', noColor: true },
    state: { isStdOutTTY: false, isStdErrTTY: false, testRunDurationMs: durationMs },
    metrics,
  };
}
