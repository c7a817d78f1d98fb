/**
 * Creates the memory topic and its dead-letter topic when they are missing.
 * Several instances may start at once, so a topic created by another instance
 * in the meantime is not an error.
 */
import type { Admin } from 'kafkajs';
import type { Logger } from 'pino';

export interface TopicSpec {
  topic: string;
  dlqTopic: string;
  partitions: number;
}

/** Replication factor 1 would lose data on a multi-broker cluster; -1 means the broker default. */
const BROKER_DEFAULT_REPLICATION = -1;

function isTopicExistsError(error: unknown): boolean {
  const seen = new Set<unknown>();
  const pending: unknown[] = [error];
  while (pending.length > 0) {
    const current = pending.pop();
    if (current === null || typeof current !== 'object' || seen.has(current)) continue;
    seen.add(current);
    const record = current as { type?: unknown; errors?: unknown; cause?: unknown };
    if (record.type === 'TOPIC_ALREADY_EXISTS') return true;
    if (Array.isArray(record.errors)) pending.push(...record.errors);
    pending.push(record.cause);
  }
  return false;
}

export async function ensureTopics(admin: Admin, spec: TopicSpec, log: Logger): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = [spec.topic, spec.dlqTopic].filter((topic) => !existing.has(topic));
  if (missing.length === 0) return;

  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((topic) => ({
        topic,
        numPartitions: spec.partitions,
        replicationFactor: BROKER_DEFAULT_REPLICATION,
      })),
    });
    log.info({ topics: missing, partitions: spec.partitions }, 'kafka topics created');
  } catch (error) {
    if (!isTopicExistsError(error)) throw error;
    log.info({ topics: missing }, 'kafka topics created by another instance');
  }
}
