/**
 * Applies defaults to a validated scenario and converts durations to milliseconds.
 * Input here has already passed schemas/scenario.schema.json.
 */
import { parseDuration } from './duration.js';
import type { SchemaProblem } from './schema-errors.js';
import type {
  ActionSpec,
  ActionTrigger,
  EngineName,
  LoadSpec,
  Scenario,
  StoreName,
  Thresholds,
  ValiditySpec,
  VerifySpec,
} from './types.js';

export const DEFAULT_CHUNK_SIZE = 100;
export const DEFAULT_CONCURRENCY = 1;
export const DEFAULT_TEXT_LENGTH = { min: 32, max: 256 };
export const DEFAULT_RETRY = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 2000 };
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
export const DEFAULT_VERIFY: VerifySpec = {
  stores: ['postgres', 'qdrant'],
  lag: true,
  timeoutMs: 60_000,
  pollIntervalMs: 250,
  settleMs: 2000,
  markers: 2000,
};
/** One core: Node runs the load loop on one thread, so a mean near one core means it was the bottleneck. */
export const DEFAULT_MAX_HARNESS_CPU = 0.9;
export const DEFAULT_MIN_ACKNOWLEDGED_ITEMS = 10;

type Raw = Record<string, unknown>;

function asObject(value: unknown): Raw {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Raw) : {};
}

function durationOr(value: unknown, fallback: number): number {
  if (typeof value !== 'number' && typeof value !== 'string') return fallback;
  return parseDuration(value) ?? fallback;
}

function optionalDuration(value: unknown): number | undefined {
  if (typeof value !== 'number' && typeof value !== 'string') return undefined;
  return parseDuration(value);
}

/** Parses an action's `at`: `50%` (share of items acknowledged) or `2s` (time since the load started). */
export function parseTrigger(at: string): ActionTrigger | undefined {
  if (at.endsWith('%')) {
    const percent = Number(at.slice(0, -1));
    return Number.isFinite(percent) && percent >= 0 && percent <= 100 ? { kind: 'percent', percent } : undefined;
  }
  const ms = parseDuration(at);
  return ms === undefined ? undefined : { kind: 'elapsed', ms };
}

function normalizeLoad(raw: Raw, defaultSeed: string): LoadSpec {
  const retry = asObject(raw.retry);
  const textLength = asObject(raw.textLength);
  // Without `shapes` every item is flat; with it, a missing weight is 0.
  const shapes = raw.shapes === undefined ? { flat: 1, coord: 0 } : asObject(raw.shapes);
  return {
    engine: raw.engine as EngineName,
    items: typeof raw.items === 'number' ? raw.items : 0,
    chunkSize: typeof raw.chunkSize === 'number' ? raw.chunkSize : DEFAULT_CHUNK_SIZE,
    concurrency: typeof raw.concurrency === 'number' ? raw.concurrency : DEFAULT_CONCURRENCY,
    durationMs: optionalDuration(raw.duration),
    rate: typeof raw.rate === 'number' ? raw.rate : undefined,
    seed: raw.seed === undefined ? defaultSeed : String(raw.seed),
    shapes: {
      flat: typeof shapes.flat === 'number' ? shapes.flat : 0,
      coord: typeof shapes.coord === 'number' ? shapes.coord : 0,
    },
    namespace: typeof raw.namespace === 'string' ? raw.namespace : undefined,
    invalidItems: typeof raw.invalidItems === 'number' ? raw.invalidItems : 0,
    textLength: {
      min: typeof textLength.min === 'number' ? textLength.min : DEFAULT_TEXT_LENGTH.min,
      max: typeof textLength.max === 'number' ? textLength.max : DEFAULT_TEXT_LENGTH.max,
    },
    retry: {
      maxAttempts: typeof retry.maxAttempts === 'number' ? retry.maxAttempts : DEFAULT_RETRY.maxAttempts,
      baseDelayMs: durationOr(retry.baseDelay, DEFAULT_RETRY.baseDelayMs),
      maxDelayMs: durationOr(retry.maxDelay, DEFAULT_RETRY.maxDelayMs),
    },
    requestTimeoutMs: durationOr(raw.requestTimeout, DEFAULT_REQUEST_TIMEOUT_MS),
    options: asObject(raw.options),
  };
}

function normalizeActions(raw: unknown): ActionSpec[] {
  if (!Array.isArray(raw)) return [];
  return raw.map((entry) => {
    const action = asObject(entry);
    const at = String(action.at);
    return {
      at,
      trigger: parseTrigger(at) ?? { kind: 'percent', percent: 0 },
      action: String(action.action),
      params: asObject(action.params),
      wait: action.wait === true,
    };
  });
}

function normalizeVerify(raw: Raw, defaults: Raw): VerifySpec {
  const merged = { ...defaults, ...raw };
  return {
    stores: Array.isArray(merged.stores) ? (merged.stores as StoreName[]) : [...DEFAULT_VERIFY.stores],
    lag: typeof merged.lag === 'boolean' ? merged.lag : DEFAULT_VERIFY.lag,
    timeoutMs: durationOr(merged.timeout, DEFAULT_VERIFY.timeoutMs),
    pollIntervalMs: durationOr(merged.pollInterval, DEFAULT_VERIFY.pollIntervalMs),
    settleMs: durationOr(merged.settle, DEFAULT_VERIFY.settleMs),
    markers: typeof merged.markers === 'number' ? merged.markers : DEFAULT_VERIFY.markers,
  };
}

function normalizeValidity(raw: Raw, defaults: Raw, items: number): ValiditySpec {
  const merged = { ...defaults, ...raw };
  return {
    maxHarnessCpu: typeof merged.maxHarnessCpu === 'number' ? merged.maxHarnessCpu : DEFAULT_MAX_HARNESS_CPU,
    minAcknowledgedItems:
      typeof merged.minAcknowledgedItems === 'number'
        ? merged.minAcknowledgedItems
        : Math.max(1, Math.min(DEFAULT_MIN_ACKNOWLEDGED_ITEMS, items)),
  };
}

export interface SuiteDefaults {
  verify?: Raw;
  thresholds?: Raw;
  validity?: Raw;
}

/** Builds a typed scenario from schema-valid YAML data, suite defaults under the scenario's own values. */
export function normalizeScenario(
  raw: Raw,
  file: string,
  defaults: SuiteDefaults,
  defaultSeed: string,
): Scenario {
  const load = normalizeLoad(asObject(raw.load), defaultSeed);
  return {
    name: String(raw.name),
    description: typeof raw.description === 'string' ? raw.description : undefined,
    file,
    load,
    actions: normalizeActions(raw.actions),
    verify: normalizeVerify(asObject(raw.verify), defaults.verify ?? {}),
    thresholds: { ...(defaults.thresholds ?? {}), ...asObject(raw.thresholds) } as Thresholds,
    validity: normalizeValidity(asObject(raw.validity), defaults.validity ?? {}, load.items),
  };
}

/**
 * Checks the rules a JSON Schema cannot express. `path` is the scenario's JSON
 * path in its file, so the problems point at the right place.
 */
export function checkScenario(scenario: Scenario, path: string): SchemaProblem[] {
  const problems: SchemaProblem[] = [];
  const { load, verify } = scenario;
  if (load.textLength.min > load.textLength.max) {
    problems.push({
      path: `${path}.load.textLength`,
      message: `expected min <= max, found min ${load.textLength.min} and max ${load.textLength.max}`,
    });
  }
  if (load.retry.baseDelayMs > load.retry.maxDelayMs) {
    problems.push({
      path: `${path}.load.retry`,
      message: `expected baseDelay <= maxDelay, found ${load.retry.baseDelayMs} ms and ${load.retry.maxDelayMs} ms`,
    });
  }
  if (verify.pollIntervalMs <= 0) {
    problems.push({ path: `${path}.verify.pollInterval`, message: 'expected a duration above 0, found 0' });
  }
  return problems;
}
