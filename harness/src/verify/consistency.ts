/**
 * Time to consistency: for each marker item, the time from its acknowledgement
 * to the first poll that found it in a store. Up to `maxMarkers` planned items,
 * every acknowledged item is a marker. Above that, markers are a sample chosen
 * by id hash, so the same run always picks the same markers.
 */
import { createHash } from 'node:crypto';
import { percentileOf } from '../load/latency.js';
import type { AcknowledgedItem } from '../load/types.js';
import type { StoreName } from '../scenario/types.js';

export interface ConsistencySummary {
  store: StoreName;
  /** `per-item` when every acknowledged item was a marker, else `sampled`. */
  method: 'per-item' | 'sampled';
  markers: number;
  /** Markers found in the store before verification ended. */
  visible: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Poll interval: each value is an upper bound, at most this much above the true time. */
  resolutionMs: number;
}

export interface ConsistencyTracker {
  /** Registers acknowledged items; those chosen as markers are tracked. */
  acknowledge(items: readonly AcknowledgedItem[]): void;
  /** Marker ids not yet seen in `store`. */
  pending(store: StoreName): string[];
  /** Records that `ids` were visible in `store` at `atMs` (epoch ms). */
  markVisible(store: StoreName, ids: readonly string[], atMs: number): void;
  summarize(resolutionMs: number): ConsistencySummary[];
}

/** Returns whether `id` falls in a deterministic sample of `fraction` (0..1) of all ids. */
export function isSampled(id: string, fraction: number): boolean {
  if (fraction >= 1) return true;
  const bucket = createHash('sha1').update(id).digest().readUInt32BE(0) / 0x1_0000_0000;
  return bucket < fraction;
}

/** Creates a tracker for `stores`; `plannedItems` and `maxMarkers` decide the sampling fraction. */
export function createConsistencyTracker(stores: readonly StoreName[], plannedItems: number, maxMarkers: number): ConsistencyTracker {
  const fraction = plannedItems <= maxMarkers ? 1 : maxMarkers / plannedItems;
  const ackAt = new Map<string, number>();
  const pendingByStore = new Map(stores.map((store) => [store, new Set<string>()]));
  const delaysByStore = new Map(stores.map((store) => [store, [] as number[]]));

  return {
    acknowledge(items) {
      for (const item of items) {
        if (ackAt.has(item.id) || !isSampled(item.id, fraction)) continue;
        ackAt.set(item.id, item.ackAtMs);
        for (const pending of pendingByStore.values()) pending.add(item.id);
      }
    },
    pending(store) {
      return [...(pendingByStore.get(store) ?? [])];
    },
    markVisible(store, ids, atMs) {
      const pending = pendingByStore.get(store);
      const delays = delaysByStore.get(store);
      if (!pending || !delays) return;
      for (const id of ids) {
        if (!pending.delete(id)) continue;
        delays.push(Math.max(0, atMs - (ackAt.get(id) ?? atMs)));
      }
    },
    summarize(resolutionMs) {
      return stores.map((store) => {
        const delays = [...(delaysByStore.get(store) ?? [])].sort((a, b) => a - b);
        const round = (value: number) => Math.round(value * 10) / 10;
        return {
          store,
          method: fraction >= 1 ? 'per-item' : 'sampled',
          markers: ackAt.size,
          visible: delays.length,
          p50Ms: round(percentileOf(delays, 50)),
          p95Ms: round(percentileOf(delays, 95)),
          p99Ms: round(percentileOf(delays, 99)),
          maxMs: round(delays.at(-1) ?? 0),
          resolutionMs,
        };
      });
    },
  };
}
