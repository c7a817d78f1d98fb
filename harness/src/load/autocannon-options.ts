/**
 * Settings of the autocannon engine: `load.options` of an autocannon scenario
 * (already checked by schemas/scenario.schema.json) plus the common load
 * fields, with defaults applied and the rate converted to requests per second.
 */
import { usageError } from '../exit-codes.js';
import type { LoadSpec } from '../scenario/types.js';
import { DEFAULT_MAX_RATE_SHORTFALL } from './arrival-rate.js';

export type RequestKind = 'store' | 'store_bulk' | 'recall';
export const REQUEST_KINDS: readonly RequestKind[] = ['store', 'store_bulk', 'recall'];

export const REQUEST_PATHS: Record<RequestKind, string> = {
  store: '/store',
  store_bulk: '/store_bulk',
  recall: '/recall',
};

export const DEFAULT_RECALL_TOP_K = 5;

export interface AutocannonSettings {
  /** The request kinds of one cycle, repeated by every connection, e.g. [store_bulk, store_bulk, recall]. */
  cycle: RequestKind[];
  connections: number;
  /** Requests per second over all connections; undefined for no rate limit. */
  overallRate?: number;
  /** Requests per second of each connection; wins over overallRate. */
  connectionRate?: number;
  /** Stop after this many requests; undefined for no limit. */
  maxRequests?: number;
  /** Stop once this many items were handed to requests; Infinity when the cycle stores nothing. */
  maxItems: number;
  durationMs?: number;
  itemsPerRequest: Record<RequestKind, number>;
  recallTopK: number;
  maxRateShortfall: number;
  timeoutMs: number;
}

type Raw = Record<string, unknown>;

function numberOption(options: Raw, key: string): number | undefined {
  const value = options[key];
  return typeof value === 'number' ? value : undefined;
}

/** Expands mix weights, e.g. {store_bulk: 3, recall: 1}, into one request cycle. */
export function buildCycle(weights: Raw | undefined): RequestKind[] {
  if (weights === undefined) return ['store_bulk'];
  const cycle: RequestKind[] = [];
  for (const kind of REQUEST_KINDS) {
    const weight = weights[kind];
    const count = typeof weight === 'number' ? Math.floor(weight) : 0;
    for (let index = 0; index < count; index += 1) cycle.push(kind);
  }
  if (cycle.length === 0) {
    throw usageError(
      `load.options.requests ${JSON.stringify(weights)} gives no request a weight above 0`,
      'give at least one of store, store_bulk or recall an integer weight, e.g. {store_bulk: 1}',
    );
  }
  return cycle;
}

/** Mean items per request over one cycle. */
function meanItems(cycle: readonly RequestKind[], itemsPerRequest: Record<RequestKind, number>): number {
  return cycle.reduce((sum, kind) => sum + itemsPerRequest[kind], 0) / cycle.length;
}

/** Reads the autocannon settings of a load; a combination that cannot run is a usage error (exit 2). */
export function readAutocannonSettings(spec: LoadSpec): AutocannonSettings {
  const options = spec.options;
  const cycle = buildCycle(options.requests as Raw | undefined);
  const itemsPerRequest: Record<RequestKind, number> = { store: 1, store_bulk: spec.chunkSize, recall: 0 };
  const storesItems = cycle.some((kind) => kind !== 'recall');
  const maxRequests = numberOption(options, 'amount');

  if (storesItems && spec.items <= 0) {
    throw usageError('an autocannon load that stores items needs load.items, the maximum number of items to send', 'set load.items, e.g. items: 10000');
  }
  if (!storesItems && maxRequests === undefined && spec.durationMs === undefined) {
    throw usageError('a recall-only autocannon load needs load.duration or load.options.amount to end', 'set load.duration, e.g. duration: 10s');
  }

  let overallRate = numberOption(options, 'overallRate');
  const connectionRate = numberOption(options, 'connectionRate');
  if (overallRate === undefined && connectionRate === undefined && spec.rate !== undefined) {
    const perRequest = meanItems(cycle, itemsPerRequest);
    if (perRequest === 0) {
      throw usageError('load.rate counts items per second, and a recall-only load sends no items', 'set load.options.overallRate (requests per second) instead');
    }
    overallRate = Math.max(1, Math.round(spec.rate / perRequest));
  }

  return {
    cycle,
    connections: spec.concurrency,
    overallRate,
    connectionRate,
    maxRequests,
    maxItems: storesItems ? spec.items : Number.POSITIVE_INFINITY,
    durationMs: spec.durationMs,
    itemsPerRequest,
    recallTopK: numberOption(options, 'recallTopK') ?? DEFAULT_RECALL_TOP_K,
    maxRateShortfall: numberOption(options, 'maxRateShortfall') ?? DEFAULT_MAX_RATE_SHORTFALL,
    timeoutMs: spec.requestTimeoutMs,
  };
}

/** Requests per second of one connection under a fixed rate; undefined without one. */
export function perConnectionRate(settings: AutocannonSettings, connections: number): number | undefined {
  if (settings.connectionRate !== undefined) return settings.connectionRate;
  if (settings.overallRate !== undefined) return settings.overallRate / connections;
  return undefined;
}

/** Requests per second over all connections under a fixed rate; undefined without one. */
export function totalRate(settings: AutocannonSettings, connections: number): number | undefined {
  if (settings.connectionRate !== undefined) return settings.connectionRate * connections;
  return settings.overallRate;
}
