/**
 * Accounts a /store_bulk response item by item. A 2xx response lists the
 * accepted ids and the rejected items by index. A 4xx with `errors` lists every
 * rejected item. Any other response fails the whole chunk.
 */
import type { GeneratedItem } from './items.js';

export interface ItemRejection {
  item: GeneratedItem;
  code: string;
  message: string;
}

export interface ItemFailure {
  item: GeneratedItem;
  reason: string;
}

export interface ChunkAccounting {
  acknowledged: GeneratedItem[];
  rejected: ItemRejection[];
  failed: ItemFailure[];
  /** `mode` of a 2xx response (evented or direct). */
  mode?: string;
  /** Ids in the response that match no item of the request. */
  unexpectedIds: string[];
}

interface ItemErrorBody {
  index?: unknown;
  id?: unknown;
  code?: unknown;
  message?: unknown;
}

function asRecord(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** Maps per-item error entries to request items, by index first and by id when the index is missing. */
function mapItemErrors(items: readonly GeneratedItem[], entries: unknown): Map<number, ItemRejection> {
  const byIndex = new Map<number, ItemRejection>();
  if (!Array.isArray(entries)) return byIndex;
  for (const raw of entries as ItemErrorBody[]) {
    const entry = asRecord(raw);
    let index = typeof entry.index === 'number' ? entry.index : -1;
    if (index < 0 && typeof entry.id === 'string') index = items.findIndex((item) => item.id === entry.id);
    const item = items[index];
    if (!item) continue;
    byIndex.set(index, {
      item,
      code: typeof entry.code === 'string' ? entry.code : 'UNKNOWN',
      message: typeof entry.message === 'string' ? entry.message : '',
    });
  }
  return byIndex;
}

/** Describes a failed response for item failures: `HTTP 413 SOMA_ERR_...: message`. */
export function describeHttpFailure(status: number, json: unknown): string {
  const body = asRecord(json);
  const code = typeof body.code === 'string' ? ` ${body.code}` : '';
  const message = typeof body.message === 'string' ? `: ${body.message}` : '';
  return `HTTP ${status}${code}${message}`;
}

/** Accounts every item of a request from the final response's status and JSON body. */
export function accountChunkResponse(items: readonly GeneratedItem[], status: number, json: unknown): ChunkAccounting {
  const body = asRecord(json);
  const success = status >= 200 && status < 300;
  const rejections = mapItemErrors(items, success ? body.rejected : body.errors);
  const accounting: ChunkAccounting = { acknowledged: [], rejected: [], failed: [], unexpectedIds: [] };

  if (!success) {
    const reason = describeHttpFailure(status, json);
    items.forEach((item, index) => {
      const rejection = rejections.get(index);
      if (rejection) accounting.rejected.push(rejection);
      else accounting.failed.push({ item, reason });
    });
    return accounting;
  }

  accounting.mode = typeof body.mode === 'string' ? body.mode : undefined;
  const ids = new Set(Array.isArray(body.ids) ? body.ids.filter((id): id is string => typeof id === 'string') : []);
  items.forEach((item, index) => {
    const rejection = rejections.get(index);
    if (rejection) accounting.rejected.push(rejection);
    else if (ids.delete(item.id)) accounting.acknowledged.push(item);
    else accounting.failed.push({ item, reason: `HTTP ${status}: item is in neither ids nor rejected of the response` });
  });
  accounting.unexpectedIds = [...ids];
  return accounting;
}
