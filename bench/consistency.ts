/**
 * When acknowledged items become visible in both stores: by count for a
 * whole step (consistent items per second), and per marker item for time to
 * consistency. Reads Postgres and Qdrant with the harness's verification
 * readers.
 */
import { percentileOf } from '../harness/src/load/latency.js';
import { sleep } from '../harness/src/load/retry.js';
import { createPostgresStore, type PostgresStore } from '../harness/src/verify/postgres-store.js';
import { createQdrantStore, type QdrantStore } from '../harness/src/verify/qdrant-store.js';

export interface StoreReaders {
  postgres: PostgresStore;
  qdrant: QdrantStore;
  close(): Promise<void>;
}

export function openStores(postgresUrl: string, qdrantUrl: string, namespace: string): StoreReaders {
  const postgres = createPostgresStore(postgresUrl);
  const qdrant = createQdrantStore(qdrantUrl, namespace);
  return { postgres, qdrant, close: () => postgres.close() };
}

/** Polls the counts of `runId` until both stores hold `expected` items; returns performance.now() then, or undefined after `timeoutMs`. */
export async function waitUntilConsistent(stores: StoreReaders, runId: string, expected: number, timeoutMs: number, pollMs = 100): Promise<number | undefined> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const [postgres, qdrant] = await Promise.all([
      stores.postgres.count(runId).catch(() => -1),
      stores.qdrant.count(runId).catch(() => -1),
    ]);
    if (postgres >= expected && qdrant >= expected) return performance.now();
    await sleep(pollMs);
  }
  return undefined;
}

export interface ConsistencyTimes {
  markers: number;
  visible: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Poll interval: each time is at most this much above the true one. */
  resolutionMs: number;
}

/**
 * Measures, for marker items fed as they are acknowledged, the time until a
 * poll finds each one in Postgres and in Qdrant. Call stop() after the load
 * to keep polling until every marker is visible or `timeoutMs` passed.
 */
export function trackMarkers(stores: StoreReaders, pollMs = 50) {
  const pending = new Map<string, { ackAtMs: number; postgres: boolean; qdrant: boolean }>();
  const delays: number[] = [];
  let total = 0;
  let running = true;

  const poll = async () => {
    const ids = [...pending.keys()];
    if (ids.length === 0) return;
    const [postgres, qdrant] = await Promise.all([
      stores.postgres.findByIds(ids).catch(() => []),
      stores.qdrant.findByIds(ids).catch(() => []),
    ]);
    const atMs = performance.now();
    for (const record of postgres) {
      const entry = pending.get(record.id);
      if (entry) entry.postgres = true;
    }
    for (const record of qdrant) {
      const entry = pending.get(record.id);
      if (entry) entry.qdrant = true;
    }
    for (const [id, entry] of pending) {
      if (!entry.postgres || !entry.qdrant) continue;
      delays.push(Math.max(0, atMs - entry.ackAtMs));
      pending.delete(id);
    }
  };

  const loop = (async () => {
    while (running) {
      await poll();
      await sleep(pollMs);
    }
  })();

  return {
    add(id: string, ackAtMs: number) {
      total += 1;
      pending.set(id, { ackAtMs, postgres: false, qdrant: false });
    },
    async stop(timeoutMs: number): Promise<ConsistencyTimes> {
      const deadline = performance.now() + timeoutMs;
      while (pending.size > 0 && performance.now() < deadline) await sleep(pollMs);
      running = false;
      await loop;
      const sorted = [...delays].sort((a, b) => a - b);
      const round = (value: number) => Math.round(value * 10) / 10;
      return {
        markers: total,
        visible: sorted.length,
        p50Ms: round(percentileOf(sorted, 50)),
        p99Ms: round(percentileOf(sorted, 99)),
        maxMs: round(sorted.at(-1) ?? 0),
        resolutionMs: pollMs,
      };
    },
  };
}

/** Deletes a run's rows and collection so repeated runs start from the same store sizes. */
export async function deleteRunData(addresses: { postgresUrl: string; qdrantUrl: string }, namespace: string): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: addresses.postgresUrl });
  await client.connect();
  try {
    await client.query('DELETE FROM public.kv_store WHERE namespace = $1', [namespace]);
  } finally {
    await client.end();
  }
  await fetch(`${addresses.qdrantUrl}/collections/${namespace}`, { method: 'DELETE' }).catch(() => undefined);
}
