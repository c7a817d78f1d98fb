/**
 * Exports soma_consumer_lag per group and partition: the high watermark minus
 * the group's committed offset (minus the earliest offset when the group has
 * committed nothing yet). Batches update the gauge as they commit; this poll
 * also covers partitions that receive nothing.
 */
import type { Admin } from 'kafkajs';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';

export const LAG_POLL_INTERVAL_MS = 5_000;

export interface PartitionLag {
  partition: number;
  lag: number;
}

export async function fetchGroupLag(admin: Admin, group: string, topic: string): Promise<PartitionLag[]> {
  const [topicOffsets, groupOffsets] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    admin.fetchOffsets({ groupId: group, topics: [topic] }),
  ]);
  const committed = new Map<number, bigint>();
  for (const entry of groupOffsets.find((offsets) => offsets.topic === topic)?.partitions ?? []) {
    committed.set(entry.partition, BigInt(entry.offset));
  }
  return topicOffsets.map((entry) => {
    const high = BigInt(entry.high);
    const commit = committed.get(entry.partition) ?? -1n;
    const start = commit >= 0n ? commit : BigInt(entry.low);
    const lag = high > start ? Number(high - start) : 0;
    return { partition: entry.partition, lag };
  });
}

export function startLagMonitor(options: {
  admin: Admin;
  groups: string[];
  topic: string;
  metrics: Metrics;
  log: Logger;
  intervalMs?: number;
}): { stop(): void } {
  const { admin, groups, topic, metrics, log } = options;
  let failures = 0;

  async function poll(): Promise<void> {
    try {
      for (const group of groups) {
        for (const { partition, lag } of await fetchGroupLag(admin, group, topic)) {
          metrics.consumerLag.set({ group, topic, partition: String(partition) }, lag);
        }
      }
      failures = 0;
    } catch (error) {
      failures++;
      // Log the first failure of a streak and then every 12th (once a minute at the default interval).
      if (failures % 12 === 1) log.warn({ err: error, topic, failures }, 'consumer lag poll failed');
    }
  }

  const timer = setInterval(() => void poll(), options.intervalMs ?? LAG_POLL_INTERVAL_MS);
  timer.unref();
  void poll();
  return { stop: () => clearInterval(timer) };
}
