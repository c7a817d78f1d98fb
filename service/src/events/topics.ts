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

/** Collects the kafkajs protocol errors of a createTopics failure, with their cause and aggregate members. */
function topicErrors(error: unknown): { type?: unknown; topic?: unknown; message?: unknown }[] {
  const seen = new Set<unknown>();
  const pending: unknown[] = [error];
  const found: { type?: unknown; topic?: unknown; message?: unknown }[] = [];
  while (pending.length > 0) {
    const current = pending.pop();
    if (current === null || typeof current !== 'object' || seen.has(current)) continue;
    seen.add(current);
    const record = current as { type?: unknown; topic?: unknown; message?: unknown; errors?: unknown; cause?: unknown };
    if (typeof record.type === 'string') found.push(record);
    if (Array.isArray(record.errors)) pending.push(...record.errors);
    pending.push(record.cause);
  }
  return found;
}

/**
 * Creates the missing topics. kafkajs logs the CreateTopics response of a
 * failed creation at debug only (see kafka-client.ts), so this function logs
 * a failure other than "already exists" at error with each topic's error type.
 */
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
    const errors = topicErrors(error);
    const failures = errors.filter((entry) => entry.type !== 'TOPIC_ALREADY_EXISTS');
    if (errors.length > 0 && failures.length === 0) {
      log.info({ topics: missing }, 'kafka topics created by another instance');
      return;
    }
    const problems = failures.map((entry) => ({ topic: entry.topic, type: entry.type, message: entry.message }));
    log.error({ err: error, topics: missing, problems }, 'kafka topic creation failed');
    throw error;
  }
}
