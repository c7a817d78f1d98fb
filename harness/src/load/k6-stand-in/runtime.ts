/**
 * State of one k6 stand-in run, shared by the stand-in's CLI and its module
 * shims (k6, k6/http, k6/metrics, k6/execution, k6/data): the metric
 * registry, every sample (written as k6's JSON output and aggregated for the
 * summary) and the VU context of the iteration that is running.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { closeSync, openSync, writeSync } from 'node:fs';

export type MetricType = 'counter' | 'gauge' | 'rate' | 'trend';
export type MetricContains = 'default' | 'time' | 'data';
export type Tags = Record<string, string>;

export interface Sample {
  metric: string;
  timeMs: number;
  value: number;
  tags: Tags;
}

export interface MetricDefinition {
  name: string;
  type: MetricType;
  contains: MetricContains;
  samples: Sample[];
}

export interface IterationContext {
  scenario: string;
  executor: string;
  scenarioStartMs: number;
  vuId: number;
  iterationInTest: number;
  iterationInVu: number;
}

const FLUSH_INTERVAL_MS = 200;

class StandInRuntime {
  readonly env: Record<string, string> = {};
  readonly metrics = new Map<string, MetricDefinition>();
  readonly iteration = new AsyncLocalStorage<IterationContext>();
  /** Thresholds by metric name (sub-metrics included), from the script's options; set before the run. */
  thresholds: Record<string, string[]> = {};
  scriptDir = process.cwd();
  startedAtMs = Date.now();
  private jsonFd: number | undefined;
  private pending: string[] = [];
  private flushTimer: NodeJS.Timeout | undefined;

  /** Registers a metric, or returns the existing one of that name. */
  define(name: string, type: MetricType, contains: MetricContains = 'default'): MetricDefinition {
    const existing = this.metrics.get(name);
    if (existing) return existing;
    const metric: MetricDefinition = { name, type, contains, samples: [] };
    this.metrics.set(name, metric);
    return metric;
  }

  /** Records a sample; samples inside an iteration carry its scenario tag, as in k6. */
  emit(name: string, type: MetricType, value: number, tags: Tags = {}, contains: MetricContains = 'default'): void {
    const metric = this.define(name, type, contains);
    // Like k6, the JSON output declares a metric before its first sample.
    if (metric.samples.length === 0) {
      this.write({ type: 'Metric', data: { name, type, contains, thresholds: this.thresholds[name] ?? [], submetrics: null }, metric: name });
    }
    const context = this.iteration.getStore();
    const sample: Sample = { metric: name, timeMs: Date.now(), value, tags: context ? { scenario: context.scenario, ...tags } : { ...tags } };
    metric.samples.push(sample);
    this.write({ type: 'Point', data: { time: new Date(sample.timeMs).toISOString(), value, tags: sample.tags }, metric: name });
  }

  /** Starts writing k6's JSON output (one JSON object per line) to `path`. */
  openJsonOutput(path: string): void {
    this.jsonFd = openSync(path, 'w');
    this.flushTimer = setInterval(() => this.flush(), FLUSH_INTERVAL_MS);
    this.flushTimer.unref();
  }

  closeJsonOutput(): void {
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flush();
    if (this.jsonFd !== undefined) closeSync(this.jsonFd);
    this.jsonFd = undefined;
  }

  private write(line: unknown): void {
    if (this.jsonFd === undefined) return;
    this.pending.push(JSON.stringify(line));
  }

  private flush(): void {
    if (this.jsonFd === undefined || this.pending.length === 0) return;
    writeSync(this.jsonFd, `${this.pending.join('\n')}\n`);
    this.pending = [];
  }
}

export const runtime = new StandInRuntime();

/** The running iteration's context; throws outside an iteration, like k6 does for exec.vu in the init context. */
export function currentIteration(): IterationContext {
  const context = runtime.iteration.getStore();
  if (!context) throw new Error('the k6 stand-in has no VU context here: exec.scenario and exec.vu exist only inside an iteration');
  return context;
}
