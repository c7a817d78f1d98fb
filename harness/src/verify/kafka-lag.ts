/**
 * Samples consumer lag with the kafkajs admin client: the topic's watermarks
 * (fetchTopicOffsets) and each group's committed offsets (fetchOffsets).
 * NOTE: lag covers the whole topic, not only this run's messages, so another
 * producer writing to the same topic during verification delays the drain.
 */
import kafkajs from 'kafkajs';
import { sleep } from '../load/retry.js';
import { computeGroupLag, type LagSample } from './lag.js';

const { Kafka, logLevel } = kafkajs;

/**
 * Attempts per sample. While a partition's leadership or the client's
 * metadata changes (a new topic, a broker restart), offset requests fail
 * with errors such as "This server is not the leader for that
 * topic-partition" until the metadata is refreshed, which a reconnect does.
 */
const SAMPLE_ATTEMPTS = 3;
const RETRY_DELAY_MS = 200;

export interface LagReader {
  /** Description of the admin calls that read the lag, for evidence. */
  readonly where: string;
  /** Reads every group's lag now; `tMs` is stored in the sample as given. */
  sample(tMs: number): Promise<LagSample>;
  close(): Promise<void>;
}

export interface LagReaderOptions {
  brokers: string[];
  topic: string;
  groups: string[];
}

/** Connects an admin client lazily on the first sample. */
export function createLagReader(options: LagReaderOptions): LagReader {
  const kafka = new Kafka({
    clientId: 'soma-harness-lag',
    brokers: options.brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    requestTimeout: 5000,
    retry: { retries: 1 },
  });
  const admin = kafka.admin();
  let connected: Promise<void> | undefined;

  return {
    where: `kafkajs admin fetchTopicOffsets("${options.topic}") and fetchOffsets({groupId, topics: ["${options.topic}"]}) for ${options.groups.join(', ')} on ${options.brokers.join(',')}`,
    async sample(tMs) {
      let message = '';
      for (let attempt = 1; attempt <= SAMPLE_ATTEMPTS; attempt += 1) {
        try {
          connected ??= admin.connect();
          await connected;
          const watermarks = await admin.fetchTopicOffsets(options.topic);
          const groups = await Promise.all(
            options.groups.map(async (group) => {
              const offsets = await admin.fetchOffsets({ groupId: group, topics: [options.topic] });
              const committed = offsets.find((entry) => entry.topic === options.topic)?.partitions ?? [];
              return computeGroupLag(group, watermarks, committed);
            }),
          );
          return { tMs, groups, total: groups.reduce((sum, group) => sum + group.total, 0) };
        } catch (error) {
          // The next attempt connects again, which reloads the cluster metadata.
          connected = undefined;
          message = error instanceof Error ? error.message : String(error);
          if (attempt < SAMPLE_ATTEMPTS) await sleep(RETRY_DELAY_MS);
        }
      }
      return { tMs, groups: [], total: 0, error: message };
    },
    async close() {
      await admin.disconnect().catch(() => undefined);
    },
  };
}
