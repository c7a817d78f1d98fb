/**
 * Reads what k6 wrote. From its JSON output (`--out json=FILE`, one JSON
 * object per line) the engine takes every request, its latency and the
 * outcome of every chunk (the soma_items_* counters of the scripts). From its
 * end-of-test summary it takes the thresholds k6 judged.
 *
 * Summary formats read: k6 v1's `--summary-export` file (statistics directly
 * under each metric, `thresholds` true when FAILED), the handleSummary()
 * data object (`values`, `thresholds.{expression}.ok`), and the
 * machine-readable summary of k6 v1.5+ / v2 (`results.metrics` array and
 * `results.passed`, no per-threshold results).
 */
import type { ThresholdResult } from '../verify/thresholds.js';
import { ACKNOWLEDGED_METRIC, FAILED_METRIC, REJECTED_METRIC } from './k6-options.js';

/** One line of k6's JSON output. */
export interface K6OutputLine {
  type: 'Metric' | 'Point';
  metric: string;
  data: { time?: string; value?: number; tags?: Record<string, string> | null };
}

/** A request k6 made, from its http_req_duration sample. */
export interface K6Request {
  atMs: number;
  status: number;
  durationMs: number;
  chunk: number | undefined;
}

/** The outcome a script reported for one chunk. */
export interface K6ChunkOutcome {
  chunk: number;
  kind: 'acknowledged' | 'rejected' | 'failed';
  atMs: number;
  count: number;
  status: number;
  mode?: string;
  /** Index within the chunk and error code of each rejected item, from the soma_rejected tag. */
  rejected: Map<number, string>;
  reason?: string;
}

export interface K6OutputEvents {
  onRequest(request: K6Request): void;
  onOutcome(outcome: K6ChunkOutcome): void;
}

const OUTCOME_KINDS: Record<string, K6ChunkOutcome['kind']> = {
  [ACKNOWLEDGED_METRIC]: 'acknowledged',
  [REJECTED_METRIC]: 'rejected',
  [FAILED_METRIC]: 'failed',
};

/** Parses `3:SOMA_ERR_X,7:SOMA_ERR_Y` into index -> code. */
export function parseRejectedTag(tag: string | undefined): Map<number, string> {
  const rejected = new Map<number, string>();
  for (const entry of (tag ?? '').split(',')) {
    const at = entry.indexOf(':');
    if (at <= 0) continue;
    const index = Number(entry.slice(0, at));
    if (Number.isInteger(index) && index >= 0) rejected.set(index, entry.slice(at + 1));
  }
  return rejected;
}

/** Consumes k6's JSON output line by line, as k6 appends it. */
export class K6OutputReader {
  iterations = 0;
  droppedIterations = 0;
  firstSampleMs: number | undefined;
  private partial = '';

  constructor(private readonly events: K6OutputEvents) {}

  /** Feeds text appended to the output file; a trailing partial line waits for the next call. */
  feed(text: string): void {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.readLine(line);
  }

  /** Reads the last line when the file ended without a newline. */
  end(): void {
    if (this.partial.trim()) this.readLine(this.partial);
    this.partial = '';
  }

  private readLine(text: string): void {
    if (!text.trim()) return;
    let line: K6OutputLine;
    try {
      line = JSON.parse(text) as K6OutputLine;
    } catch {
      return;
    }
    if (line.type !== 'Point') return;
    const atMs = line.data.time ? Date.parse(line.data.time) : Date.now();
    this.firstSampleMs ??= atMs;
    const value = line.data.value ?? 0;
    const tags = line.data.tags ?? {};
    const chunk = tags.soma_chunk === undefined ? undefined : Number(tags.soma_chunk);

    if (line.metric === 'http_req_duration') {
      this.events.onRequest({ atMs, status: Number(tags.status ?? 0), durationMs: value, chunk });
    } else if (line.metric === 'iterations') {
      this.iterations += value;
    } else if (line.metric === 'dropped_iterations') {
      this.droppedIterations += value;
    } else if (OUTCOME_KINDS[line.metric] && chunk !== undefined) {
      this.events.onOutcome({
        chunk,
        kind: OUTCOME_KINDS[line.metric] as K6ChunkOutcome['kind'],
        atMs,
        count: value,
        status: Number(tags.soma_status ?? 0),
        mode: tags.soma_mode,
        rejected: parseRejectedTag(tags.soma_rejected),
        reason: tags.soma_reason,
      });
    }
  }
}

export interface K6MetricSummary {
  values: Record<string, number>;
  /** Thresholds with their result; empty when the format does not list them. */
  thresholds: { expression: string; ok: boolean }[];
}

export interface K6Summary {
  format: 'summary-export' | 'handle-summary' | 'machine-readable';
  metrics: Map<string, K6MetricSummary>;
  /** Overall threshold verdict of the machine-readable format. */
  passed?: boolean;
  durationMs?: number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function numbersOf(record: Record<string, unknown>): Record<string, number> {
  return Object.fromEntries(Object.entries(record).filter((entry): entry is [string, number] => typeof entry[1] === 'number'));
}

/** Parses a k6 summary in any of the three formats; undefined for anything else. */
export function parseK6Summary(document: unknown): K6Summary | undefined {
  if (!isRecord(document)) return undefined;
  const results = document.results;
  if (isRecord(results) && Array.isArray(results.metrics)) {
    const metrics = new Map<string, K6MetricSummary>();
    for (const metric of results.metrics) {
      if (isRecord(metric) && typeof metric.name === 'string' && isRecord(metric.values)) {
        metrics.set(metric.name, { values: numbersOf(metric.values), thresholds: [] });
      }
    }
    const config = isRecord(document.config) ? document.config : {};
    const durationMs = typeof config.duration === 'number' ? config.duration * 1000 : undefined;
    return { format: 'machine-readable', metrics, passed: results.passed === true, durationMs };
  }
  if (!isRecord(document.metrics)) return undefined;

  let format: K6Summary['format'] = 'summary-export';
  const metrics = new Map<string, K6MetricSummary>();
  for (const [name, raw] of Object.entries(document.metrics)) {
    if (!isRecord(raw)) continue;
    const handleSummary = isRecord(raw.values);
    if (handleSummary) format = 'handle-summary';
    const thresholds = isRecord(raw.thresholds)
      ? Object.entries(raw.thresholds).map(([expression, result]) => ({
          expression,
          // summary-export: true means the threshold failed; handleSummary data: {ok}.
          ok: isRecord(result) ? result.ok === true : result === false,
        }))
      : [];
    metrics.set(name, { values: numbersOf(handleSummary ? (raw.values as Record<string, unknown>) : raw), thresholds });
  }
  const state = isRecord(document.state) ? document.state : {};
  return { format, metrics, durationMs: typeof state.testRunDurationMs === 'number' ? state.testRunDurationMs : undefined };
}

/** Returns the total of a counter in the summary, or undefined. */
export function summaryCount(summary: K6Summary | undefined, metric: string): number | undefined {
  return summary?.metrics.get(metric)?.values.count;
}

const EXPRESSION = /^\s*([a-z]+|p\([0-9.]+\))\s*(<=|>=|===|==|!=|<|>)\s*(-?[0-9.]+)\s*$/;

function thresholdResult(metric: string, expression: string, ok: boolean, values: Record<string, number>): ThresholdResult {
  const match = EXPRESSION.exec(expression);
  const aggregation = match?.[1] ?? expression;
  const operator = match?.[2] ?? '<=';
  const limit = Number(match?.[3] ?? 0);
  const measured = values[aggregation] ?? (aggregation === 'rate' ? values.value : undefined);
  const shown = measured === undefined ? 'not in the summary' : String(Math.round(measured * 1000) / 1000);
  return {
    name: `k6 ${metric} ${expression}`,
    figure: `k6 ${metric} ${aggregation}`,
    comparator: operator.startsWith('>') ? '>=' : '<=',
    limit,
    measured: measured ?? null,
    status: ok ? 'passed' : 'failed',
    message: `k6 judged ${metric} ${expression}: ${aggregation} ${shown}, ${ok ? 'passed' : 'failed'}`,
  };
}

/**
 * Converts the thresholds k6 judged into threshold results, one each. When the
 * summary does not list them (the machine-readable format), one result
 * reports k6's overall verdict: failed when k6 exited with 99.
 */
export function k6ThresholdResults(summary: K6Summary | undefined, exitCode: number, expected: Record<string, string[]>): ThresholdResult[] {
  const results: ThresholdResult[] = [];
  for (const [metric, entry] of summary?.metrics ?? []) {
    for (const threshold of entry.thresholds) results.push(thresholdResult(metric, threshold.expression, threshold.ok, entry.values));
  }
  if (results.length > 0) return results;
  const failed = exitCode === 99 || summary?.passed === false;
  const count = Object.values(expected).reduce((total, list) => total + list.length, 0);
  if (count === 0 && !failed) return [];
  return [
    {
      name: 'k6 thresholds',
      figure: 'k6 thresholds',
      comparator: '<=',
      limit: 0,
      measured: failed ? 1 : 0,
      status: failed ? 'failed' : 'passed',
      message: failed
        ? `k6 reported a failed threshold (exit code ${exitCode}); its summary does not say which, read the k6 output in the report notes`
        : `k6 judged ${count} threshold(s) and all passed`,
    },
  ];
}
