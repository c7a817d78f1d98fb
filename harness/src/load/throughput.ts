/**
 * Throughput over time: counts per fixed time bucket since the load started.
 */
export interface ThroughputBucket {
  /** Start of the bucket in milliseconds since the load started. */
  tMs: number;
  acknowledgedItems: number;
  rejectedItems: number;
  failedItems: number;
  requests: number;
  /** Requests that returned a non-2xx status or failed with a network error. */
  errors: number;
  retries: number;
  /** Mean and maximum latency of the 2xx requests that completed in this bucket. */
  latencyMeanMs: number;
  latencyMaxMs: number;
}

export interface ThroughputTracker {
  recordRequest(atMs: number, outcome: { ok: boolean; latencyMs: number; retried: boolean }): void;
  recordItems(atMs: number, counts: { acknowledged: number; rejected: number; failed: number }): void;
  buckets(): ThroughputBucket[];
}

interface MutableBucket extends ThroughputBucket {
  latencySumMs: number;
  latencyCount: number;
}

/** Creates a tracker with buckets of `bucketMs` (default 1 s) starting at `startMs`. */
export function createThroughputTracker(startMs: number, bucketMs = 1000): ThroughputTracker {
  const buckets: MutableBucket[] = [];

  const bucketAt = (atMs: number): MutableBucket => {
    const index = Math.max(0, Math.floor((atMs - startMs) / bucketMs));
    for (let next = buckets.length; next <= index; next += 1) {
      buckets.push({
        tMs: next * bucketMs,
        acknowledgedItems: 0,
        rejectedItems: 0,
        failedItems: 0,
        requests: 0,
        errors: 0,
        retries: 0,
        latencyMeanMs: 0,
        latencyMaxMs: 0,
        latencySumMs: 0,
        latencyCount: 0,
      });
    }
    return buckets[index] as MutableBucket;
  };

  return {
    recordRequest(atMs, outcome) {
      const bucket = bucketAt(atMs);
      bucket.requests += 1;
      if (outcome.retried) bucket.retries += 1;
      if (!outcome.ok) {
        bucket.errors += 1;
        return;
      }
      bucket.latencySumMs += outcome.latencyMs;
      bucket.latencyCount += 1;
      bucket.latencyMaxMs = Math.max(bucket.latencyMaxMs, outcome.latencyMs);
    },
    recordItems(atMs, counts) {
      const bucket = bucketAt(atMs);
      bucket.acknowledgedItems += counts.acknowledged;
      bucket.rejectedItems += counts.rejected;
      bucket.failedItems += counts.failed;
    },
    buckets() {
      return buckets.map(({ latencySumMs, latencyCount, ...bucket }) => ({
        ...bucket,
        latencyMeanMs: latencyCount === 0 ? 0 : Math.round((latencySumMs / latencyCount) * 1000) / 1000,
        latencyMaxMs: Math.round(bucket.latencyMaxMs * 1000) / 1000,
      }));
    },
  };
}
