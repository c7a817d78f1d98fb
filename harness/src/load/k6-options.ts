/**
 * Settings of the k6 engine: `load.options` of a k6 scenario plus the common
 * load fields, and the scenario's thresholds translated into k6 thresholds,
 * so that k6 judges the same limits and its exit code agrees with ours.
 */
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { usageError } from '../exit-codes.js';
import type { LoadSpec, Thresholds } from '../scenario/types.js';
import { DEFAULT_MAX_RATE_SHORTFALL } from './arrival-rate.js';

export type K6Executor = 'constant-arrival-rate' | 'shared-iterations';

export const K6_SCRIPTS_DIR = join('scenarios', 'k6');
/** k6's sub-metric of the requests it counts as successful (2xx and 3xx by default). */
export const EXPECTED_RESPONSE_DURATION = 'http_req_duration{expected_response:true}';
export const ACKNOWLEDGED_METRIC = 'soma_items_acknowledged';
export const REJECTED_METRIC = 'soma_items_rejected';
export const FAILED_METRIC = 'soma_items_failed';

export interface K6Settings {
  /** Absolute path of the script. */
  script: string;
  executor: K6Executor;
  vus: number;
  maxVUs: number;
  /** Iterations (chunks) per second of an arrival-rate executor. */
  iterationsPerSecond?: number;
  durationMs?: number;
  chunkSize: number;
  items: number;
  /** k6 thresholds by metric: the scenario's thresholds translated, then `options.thresholds`. */
  thresholds: Record<string, string[]>;
  maxRateShortfall: number;
}

/** Formats milliseconds as a k6 duration, e.g. 1500 -> "1500ms", 10000 -> "10s". */
export function formatK6Duration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${Math.round(ms)}ms`;
}

function addThreshold(thresholds: Record<string, string[]>, metric: string, expression: string): void {
  const list = thresholds[metric] ?? [];
  if (!list.includes(expression)) list.push(expression);
  thresholds[metric] = list;
}

/**
 * Translates the thresholds k6 can measure itself: request latency, failed and
 * rejected items and acknowledged items per second. Time to consistency and
 * lag drain are measured by the harness only.
 */
export function k6ThresholdsFor(thresholds: Thresholds, extra: Record<string, unknown> = {}): Record<string, string[]> {
  const mapped: Record<string, string[]> = {};
  if (thresholds.latencyP50Ms !== undefined) addThreshold(mapped, EXPECTED_RESPONSE_DURATION, `p(50)<=${thresholds.latencyP50Ms}`);
  if (thresholds.latencyP99Ms !== undefined) addThreshold(mapped, EXPECTED_RESPONSE_DURATION, `p(99)<=${thresholds.latencyP99Ms}`);
  if (thresholds.maxFailedItems !== undefined) addThreshold(mapped, FAILED_METRIC, `count<=${thresholds.maxFailedItems}`);
  if (thresholds.maxRejectedItems !== undefined) addThreshold(mapped, REJECTED_METRIC, `count<=${thresholds.maxRejectedItems}`);
  if (thresholds.minItemsPerSecond !== undefined) addThreshold(mapped, ACKNOWLEDGED_METRIC, `rate>=${thresholds.minItemsPerSecond}`);
  for (const [metric, expressions] of Object.entries(extra)) {
    for (const expression of Array.isArray(expressions) ? expressions : []) addThreshold(mapped, metric, String(expression));
  }
  return mapped;
}

function resolveScript(rootDir: string, name: string): string {
  const dir = resolve(rootDir, K6_SCRIPTS_DIR);
  const script = resolve(dir, name);
  if (relative(dir, script).startsWith('..')) {
    throw usageError(`load.options.script ${name} is outside ${K6_SCRIPTS_DIR}`, `name a file under ${K6_SCRIPTS_DIR}, e.g. store-bulk.ts`);
  }
  if (!existsSync(script)) throw usageError(`k6 script not found: ${script}`, `name a file under ${K6_SCRIPTS_DIR}, e.g. store-bulk.ts`);
  return script;
}

/** Reads the k6 settings of a load; a combination that cannot run is a usage error (exit 2). */
export function readK6Settings(spec: LoadSpec, thresholds: Thresholds, rootDir: string): K6Settings {
  const options = spec.options;
  const executor: K6Executor = options.executor === 'constant-arrival-rate' ? 'constant-arrival-rate' : 'shared-iterations';
  if (spec.items <= 0) throw usageError('a k6 load needs load.items, the number of items its script sends', 'set load.items, e.g. items: 1000');

  let iterationsPerSecond: number | undefined;
  if (executor === 'constant-arrival-rate') {
    if (spec.rate === undefined || spec.durationMs === undefined) {
      throw usageError('the k6 executor constant-arrival-rate needs load.rate (items per second) and load.duration', 'set both, e.g. rate: 1000 and duration: 10s');
    }
    iterationsPerSecond = Math.round(spec.rate / spec.chunkSize);
    if (iterationsPerSecond < 1) {
      throw usageError(
        `load.rate ${spec.rate} items/s is less than one chunk of ${spec.chunkSize} items per second`,
        'raise load.rate or lower load.chunkSize; k6 starts whole iterations, one chunk each',
      );
    }
  }

  const maxVUs = typeof options.maxVUs === 'number' ? options.maxVUs : spec.concurrency * 2;
  return {
    script: resolveScript(rootDir, typeof options.script === 'string' ? options.script : 'store-bulk.ts'),
    executor,
    vus: spec.concurrency,
    maxVUs: Math.max(maxVUs, spec.concurrency),
    iterationsPerSecond,
    durationMs: spec.durationMs,
    chunkSize: spec.chunkSize,
    items: spec.items,
    thresholds: k6ThresholdsFor(thresholds, (options.thresholds ?? {}) as Record<string, unknown>),
    maxRateShortfall: typeof options.maxRateShortfall === 'number' ? options.maxRateShortfall : DEFAULT_MAX_RATE_SHORTFALL,
  };
}
