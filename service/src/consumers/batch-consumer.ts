/**
 * Runs one consumer group over the memory topic with kafkajs eachBatch.
 * A batch's offsets are resolved, and then committed by kafkajs, only after
 * its events are durably written and its undecodable messages are on the
 * dead-letter topic. Delivery is at-least-once, so the writers are
 * idempotent by item id.
 *
 * A store failure stalls the partition and retries with backoff instead of
 * crashing, so nothing is skipped while a store is down. A partition whose
 * writes have failed for STALL_THRESHOLD_MS is reported by `stallDetail`,
 * which fails the store's /readyz check. An error caused by the data of one
 * event is isolated by splitting the batch, and only that event goes to the
 * dead-letter topic.
 */
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import type { MemoryEvent } from '../events/schema.js';
import type { Metrics } from '../metrics.js';
import { redactCredentialsInText } from '../readiness.js';
import type { DeadLetter, DeadLetterSink } from './dead-letter.js';
import { decodeEvent, type DeadLetterReason } from './decode-event.js';

export const RETRY_INITIAL_DELAY_MS = 200;
export const RETRY_MAX_DELAY_MS = 5_000;
/**
 * A fetch returns once FETCH_MIN_BYTES of messages are ready or
 * FETCH_MAX_WAIT_MS have passed. Below 2.6 MB/s (256 KiB per 100 ms) a fetch
 * therefore waits up to 100 ms and carries what arrived meanwhile, so the
 * per-batch work (one upsert statement, one Qdrant request, one offset commit
 * per partition) covers more events. The wait adds at most FETCH_MAX_WAIT_MS
 * to the time from produce to write.
 */
export const FETCH_MAX_WAIT_MS = 100;
export const FETCH_MIN_BYTES = 256 * 1024;
/**
 * Duration after which a partition whose store writes keep failing makes
 * /readyz return 503. With the retry backoff above, 15 s is about six failed
 * attempts, so a store that restarts or a single timed-out request does not
 * flip readiness. A store that rejects every write shows up within one or two
 * readiness polls of an orchestrator polling every 10 s (the Kubernetes default).
 */
export const STALL_THRESHOLD_MS = 15_000;
/** Maximum length of the last error in a stall detail. */
const MAX_ERROR_DETAIL_CHARS = 500;

/** One writer (Postgres or Qdrant) behind a consumer group. */
export interface BatchWriter {
  /** Store name in log messages: `postgres` or `qdrant`. */
  readonly name: string;
  /** Component name that operators know the writer by: `kv-writer` or `vector-indexer`. */
  readonly component: string;
  /** Product name of the store, such as `Qdrant`. */
  readonly store: string;
  /** Names where `events` are written, such as the Qdrant collections or the Postgres table and namespaces. */
  describeTarget(events: readonly MemoryEvent[]): string;
  /** Describes a failed write in one line; the consumer removes URL credentials from it. */
  describeError(error: unknown): string;
  /** Names a writer-specific reason why an event can never be written, e.g. a wrong embedding size. */
  reject?(event: MemoryEvent): { reason: DeadLetterReason; detail: string } | undefined;
  /** Writes all events durably or throws. Must be idempotent by item id. */
  write(events: readonly MemoryEvent[]): Promise<void>;
  /** True when `error` was caused by the data of the events, so retrying the same events cannot succeed. */
  isDataError(error: unknown): boolean;
}

export interface BatchConsumerOptions {
  kafka: Kafka;
  topic: string;
  group: string;
  writer: BatchWriter;
  deadLetters: DeadLetterSink;
  metrics: Metrics;
  log: Logger;
  partitionsConsumedConcurrently?: number;
}

export interface BatchConsumer {
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * Describes the oldest partition whose store writes have failed without a
   * success for at least STALL_THRESHOLD_MS: writer, group, store, target,
   * duration, attempts and last error. Undefined when no partition is stalled.
   */
  stallDetail(now?: number): string | undefined;
}

/** A partition whose writes failed since `since`, the start of its first failed attempt, without a success. */
interface FailingPartition {
  since: number;
  attempts: number;
  lastError: string;
  target: string;
  /** Whether the crossing of STALL_THRESHOLD_MS has been logged. */
  reported: boolean;
}

interface Decoded {
  message: KafkaMessage;
  event: MemoryEvent;
}

class StoppedError extends Error {}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Lists up to `max` distinct names in first-seen order, and how many more there are. */
export function listNames(names: Iterable<string>, max = 3): string {
  const distinct = [...new Set(names)];
  const listed = distinct.slice(0, max).join(', ');
  return distinct.length > max ? `${listed} and ${distinct.length - max} more` : listed;
}

function letterFor(message: KafkaMessage, partition: number, reason: DeadLetterReason, detail: string): DeadLetter {
  return { reason, detail, partition, offset: message.offset, key: message.key, value: message.value };
}

export function createBatchConsumer(options: BatchConsumerOptions): BatchConsumer {
  const { kafka, topic, group, writer, deadLetters, metrics } = options;
  const log = options.log.child({ group, topic });
  let consumer: Consumer | undefined;
  let stopping = false;
  const failing = new Map<number, FailingPartition>();

  function noteWriteFailure(partition: number, events: readonly MemoryEvent[], attemptStarted: number, error: unknown): void {
    const now = Date.now();
    const entry = failing.get(partition) ?? { since: attemptStarted, attempts: 0, lastError: '', target: '', reported: false };
    entry.attempts += 1;
    entry.target = writer.describeTarget(events);
    const detail = redactCredentialsInText(writer.describeError(error));
    entry.lastError = detail.length > MAX_ERROR_DETAIL_CHARS ? `${detail.slice(0, MAX_ERROR_DETAIL_CHARS)}...` : detail;
    failing.set(partition, entry);
    if (!entry.reported && now - entry.since >= STALL_THRESHOLD_MS) {
      entry.reported = true;
      log.error(
        { partition, writer: writer.component, target: entry.target, attempts: entry.attempts, stalledMs: now - entry.since, lastError: entry.lastError },
        'writer stalled: store writes keep failing, /readyz reports not ready until a write succeeds',
      );
    }
  }

  function noteWriteSuccess(partition: number): void {
    const entry = failing.get(partition);
    if (entry === undefined) return;
    failing.delete(partition);
    if (entry.reported) {
      log.info({ partition, writer: writer.component, target: entry.target, attempts: entry.attempts, stalledMs: Date.now() - entry.since }, 'writer recovered');
    }
  }

  function stallDetail(now = Date.now()): string | undefined {
    const stalled = [...failing.entries()].filter(([, entry]) => now - entry.since >= STALL_THRESHOLD_MS).sort(([, a], [, b]) => a.since - b.since);
    const [oldest] = stalled;
    if (oldest === undefined) return undefined;
    const [partition, entry] = oldest;
    const seconds = Math.round((now - entry.since) / 1000);
    const more = stalled.length - 1;
    const others = more === 0 ? '' : ` and ${more} more ${more === 1 ? 'partition' : 'partitions'}`;
    return (
      `${writer.component} (consumer group ${group}) has failed to write to ${writer.store} ${entry.target} for ${seconds} s ` +
      `(partition ${partition}${others}, ${entry.attempts} failed attempts); last error: ${entry.lastError}; ` +
      'it keeps retrying and skips no event'
    );
  }

  /** Retries `action` with exponential backoff until it succeeds or the batch must be abandoned. */
  async function retry(what: string, payload: EachBatchPayload, action: () => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await action();
        return;
      } catch (error) {
        if (error instanceof StoppedError) throw error;
        const delayMs = Math.min(RETRY_INITIAL_DELAY_MS * 2 ** (attempt - 1), RETRY_MAX_DELAY_MS);
        log.warn({ err: error, partition: payload.batch.partition, attempt, delayMs }, `${what} failed, retrying`);
        await sleep(delayMs);
        if (!payload.isRunning() || payload.isStale()) throw new StoppedError();
        await payload.heartbeat();
      }
    }
  }

  /**
   * Writes the events; events whose data the store rejects are returned instead of written.
   * NOTE: no test reaches the splitting branch, because the API and decodeEvent reject every
   * input known to make Postgres or Qdrant fail; it guards against ones not yet known.
   */
  async function writeIsolating(decoded: readonly Decoded[], partition: number): Promise<DeadLetter[]> {
    if (decoded.length === 0) return [];
    try {
      await writer.write(decoded.map((entry) => entry.event));
      return [];
    } catch (error) {
      if (!writer.isDataError(error)) throw error;
      const [only] = decoded;
      if (decoded.length === 1 && only !== undefined) {
        return [letterFor(only.message, partition, 'store_rejected', (error as Error).message)];
      }
      const middle = Math.ceil(decoded.length / 2);
      const left = await writeIsolating(decoded.slice(0, middle), partition);
      const right = await writeIsolating(decoded.slice(middle), partition);
      return [...left, ...right];
    }
  }

  async function processBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const stopTimer = metrics.consumerBatchDuration.startTimer({ group });
    metrics.consumerBatchSize.observe({ group }, batch.messages.length);

    const decoded: Decoded[] = [];
    const letters: DeadLetter[] = [];
    for (const message of batch.messages) {
      const result = decodeEvent(message.value);
      if (!result.ok) {
        letters.push(letterFor(message, batch.partition, result.reason, result.detail));
        continue;
      }
      const rejection = writer.reject?.(result.event);
      if (rejection !== undefined) letters.push(letterFor(message, batch.partition, rejection.reason, rejection.detail));
      else decoded.push({ message, event: result.event });
    }

    try {
      await retry(`${writer.name} write`, payload, async () => {
        const attemptStarted = Date.now();
        try {
          letters.push(...(await writeIsolating(decoded, batch.partition)));
        } catch (error) {
          noteWriteFailure(batch.partition, decoded.map((entry) => entry.event), attemptStarted, error);
          throw error;
        }
        noteWriteSuccess(batch.partition);
      });
      await retry('dead-letter publish', payload, () => deadLetters.send(group, topic, letters));
    } catch (error) {
      if (error instanceof StoppedError) {
        // The partition may now belong to another member, so its failures no longer count here.
        failing.delete(batch.partition);
        return;
      }
      throw error;
    }

    payload.resolveOffset(batch.lastOffset());
    const lag = Number(BigInt(batch.highWatermark) - BigInt(batch.lastOffset()) - 1n);
    metrics.consumerLag.set({ group, topic, partition: String(batch.partition) }, Math.max(0, lag));
    stopTimer();
    log.debug({ partition: batch.partition, count: batch.messages.length, deadLettered: letters.length }, 'batch written');
  }

  async function runOnce(): Promise<void> {
    const created = kafka.consumer({
      groupId: group,
      maxWaitTimeInMs: FETCH_MAX_WAIT_MS,
      minBytes: FETCH_MIN_BYTES,
      allowAutoTopicCreation: false,
      retry: { retries: 5, initialRetryTime: 300, restartOnFailure: async () => !stopping },
    });
    consumer = created;
    await created.connect();
    await created.subscribe({ topic, fromBeginning: true });
    await created.run({
      eachBatchAutoResolve: false,
      autoCommit: true,
      partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 3,
      eachBatch: processBatch,
    });
    log.info('consumer group joined');
  }

  return {
    async start() {
      for (let attempt = 1; !stopping; attempt++) {
        try {
          await runOnce();
          return;
        } catch (error) {
          const delayMs = Math.min(RETRY_INITIAL_DELAY_MS * 2 ** (attempt - 1), RETRY_MAX_DELAY_MS);
          log.warn({ err: error, attempt, delayMs }, 'consumer start failed, retrying');
          await consumer?.disconnect().catch(() => undefined);
          consumer = undefined;
          await sleep(delayMs);
        }
      }
    },

    async stop() {
      stopping = true;
      // disconnect() waits for the running batch, commits resolved offsets and leaves the group.
      await consumer?.disconnect();
      consumer = undefined;
      failing.clear();
      log.info('consumer group left');
    },

    stallDetail,
  };
}
