/**
 * Publishes events to the memory topic with acks=all from an idempotent
 * producer, keyed by item id.
 *
 * kafkajs lets an idempotent producer have one produce request in flight per
 * broker, so concurrent requests would queue behind each other one produce
 * call at a time. Instead, the messages of requests that arrive while a send
 * is in flight are coalesced into the next send, and each request resolves
 * when every send that carried its messages is acknowledged.
 *
 * Sends are cut by bytes as well as by count. kafkajs writes one record batch
 * per partition into a produce request, and the broker rejects a batch larger
 * than its message.max.bytes (the topic's max.message.bytes). So a send
 * contains at most `maxMessageBytes` of records per partition, and a request
 * larger than that is spread over several sends. Every single message must fit on
 * its own: the API rejects larger items before they reach the publisher
 * (`messageBytes`).
 *
 * Failures are attributed to the request whose messages failed. A failure of
 * the broker or the connection fails every request in the send, since none
 * of them was acknowledged. A failure that the broker reports for the records
 * themselves (RECORD_ERROR_TYPES) sends each request of the send again on its
 * own, and halves a request's messages until the failing message is alone,
 * so only its request fails.
 *
 * After a failed send the producer is replaced by a new one (a new producer
 * id). kafkajs 2.2.4 rolls its sequence numbers back when a produce request
 * fails. If that request had in fact been written, the next batch would reuse
 * the sequence and the broker could discard it as a duplicate while
 * acknowledging it. A fresh producer id starts fresh sequences.
 */
import type { Kafka, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { MemoryEvent } from './schema.js';
import { somaError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { createKeyHashPartitioner, partitionForKey } from './partitioner.js';

/** Time the broker has to replicate one produce request before it fails. */
export const PRODUCE_TIMEOUT_MS = 5_000;
/** Upper bounds of one coalesced send over all partitions. */
export const MAX_MESSAGES_PER_SEND = 10_000;
export const MAX_BYTES_PER_SEND = 8 * 1024 * 1024;

/**
 * Upper bound of the framing that Kafka's record format v2 adds to a record's
 * key, value and headers. The attributes take 1 byte and the timestamp delta
 * at most 10 (a varlong). The record length, offset delta, key length, value
 * length and header count are varints of at most 5 bytes each.
 */
export const RECORD_OVERHEAD_BYTES = 1 + 10 + 5 * 5;

/**
 * Kafka error types that reject the records of a produce request rather than
 * the request: a retry of the same records fails the same way.
 */
const RECORD_ERROR_TYPES = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD']);

interface Message {
  key: string;
  value: string;
}

/** One request's messages and its outcome. */
interface Pending {
  /** Messages not yet handed to a send. */
  queued: Message[];
  /** Messages handed to a send that has not been acknowledged yet. */
  unacknowledged: number;
  failed: boolean;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Messages of one request inside one send. */
interface Slice {
  pending: Pending;
  messages: Message[];
}

export interface EventPublisher {
  /** The limit the API checks each event against, in bytes of `messageBytes`. */
  readonly maxMessageBytes: number;
  /** Returns the bytes of the record the event becomes: key, value and headers in UTF-8 plus the record framing. */
  messageBytes(event: MemoryEvent): number;
  publish(events: readonly MemoryEvent[]): Promise<void>;
  close(): Promise<void>;
}

export interface ProducerOptions {
  kafka: Kafka;
  topic: string;
  log: Logger;
  metrics: Metrics;
  /** SOMA_KAFKA_MAX_MESSAGE_BYTES: the largest record, and the largest record batch per partition of one send. */
  maxMessageBytes: number;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Returns the Kafka error type (such as MESSAGE_TOO_LARGE) of a kafkajs error or of the error it wraps. */
export function kafkaErrorType(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const type = (current as { type?: unknown }).type;
    if (typeof type === 'string') return type;
    current = current.cause;
  }
  return undefined;
}

function recordBytes(message: Message): number {
  return Buffer.byteLength(message.key) + Buffer.byteLength(message.value) + RECORD_OVERHEAD_BYTES;
}

export function createEventPublisher(options: ProducerOptions): EventPublisher {
  const { kafka, topic, log, metrics, maxMessageBytes } = options;
  const maxBytesPerSend = Math.max(MAX_BYTES_PER_SEND, maxMessageBytes);
  let current: Promise<Producer> | undefined;
  let closed = false;
  /** Partition count of the topic that kafkajs used in the latest send; undefined before the first one. */
  let partitionCount: number | undefined;
  /** Serialized messages of events the API measured, so publish does not serialize them again. */
  const serialized = new WeakMap<MemoryEvent, Message>();

  function toMessage(event: MemoryEvent): Message {
    const cached = serialized.get(event);
    if (cached !== undefined) return cached;
    const message = { key: event.id, value: JSON.stringify(event) };
    serialized.set(event, message);
    return message;
  }

  function connectProducer(): Promise<Producer> {
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: () => {
        const partition = createKeyHashPartitioner();
        return (args) => {
          partitionCount = args.partitionMetadata.length;
          return partition(args);
        };
      },
      // The idempotent producer retries without limit by default; a bounded
      // retry lets a request fail with 503 while Kafka is down.
      retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1_000 },
    });
    const connecting = producer.connect().then(() => {
      log.info({ topic }, 'kafka producer connected');
      return producer;
    });
    connecting.catch(() => undefined);
    return connecting;
  }

  function replaceProducer(failed: Promise<Producer>): void {
    if (current !== failed) return;
    current = undefined;
    void failed.then((producer) => producer.disconnect()).catch(() => undefined);
  }

  const queue: Pending[] = [];
  let sending = false;

  /**
   * Takes queued messages in request order until the next one would break a
   * bound: MAX_MESSAGES_PER_SEND, maxBytesPerSend, or maxMessageBytes on its
   * partition. Before the first send the partition count is unknown, so then
   * maxMessageBytes bounds the whole send. Always takes at least one message.
   */
  function takeSend(): Slice[] {
    const slices: Slice[] = [];
    const partitionBytes = new Map<number, number>();
    let count = 0;
    let bytes = 0;

    while (queue.length > 0) {
      const pending = queue[0] as Pending;
      let sliceLength = 0;
      for (const message of pending.queued) {
        const size = recordBytes(message);
        const partition = partitionCount === undefined ? 0 : partitionForKey(message.key, partitionCount);
        const onPartition = (partitionBytes.get(partition) ?? 0) + size;
        const fits = count < MAX_MESSAGES_PER_SEND && bytes + size <= maxBytesPerSend && onPartition <= maxMessageBytes;
        if (count > 0 && !fits) break;
        partitionBytes.set(partition, onPartition);
        count++;
        bytes += size;
        sliceLength++;
      }
      if (sliceLength > 0) {
        slices.push({ pending, messages: pending.queued.slice(0, sliceLength) });
        pending.queued = pending.queued.slice(sliceLength);
        pending.unacknowledged += sliceLength;
      }
      if (pending.queued.length > 0) break;
      queue.shift();
    }
    return slices;
  }

  function acknowledge(slices: readonly Slice[]): void {
    for (const { pending, messages } of slices) {
      pending.unacknowledged -= messages.length;
      if (!pending.failed && pending.unacknowledged === 0 && pending.queued.length === 0) pending.resolve();
    }
  }

  function fail(pending: Pending, error: unknown): void {
    if (pending.failed) return;
    pending.failed = true;
    // The rest of a failed request is not sent: its client gets the error and retries the whole request.
    pending.queued = [];
    const index = queue.indexOf(pending);
    if (index >= 0) queue.splice(index, 1);
    pending.reject(error);
  }

  /** Sends the slices in one produce call; returns the error, or undefined once Kafka acknowledged them. */
  async function produce(slices: readonly Slice[]): Promise<unknown> {
    const active = (current ??= connectProducer());
    const messages = slices.length === 1 ? (slices[0] as Slice).messages : slices.flatMap((slice) => slice.messages);
    const stopTimer = metrics.kafkaProduceDuration.startTimer();
    try {
      const producer = await active;
      await producer.send({ topic, messages, acks: -1, timeout: PRODUCE_TIMEOUT_MS });
      return undefined;
    } catch (error) {
      replaceProducer(active);
      log.warn(
        { err: error, topic, count: messages.length, requests: slices.length, errorType: kafkaErrorType(error) },
        'kafka produce failed',
      );
      return error ?? new Error('kafka produce failed');
    } finally {
      stopTimer();
    }
  }

  /**
   * Sends the slices and settles their requests. A record error is narrowed
   * down: first to each request alone, then by halves of one request's
   * messages. Messages already written on other partitions may be written
   * again, which the consumers absorb because writes are idempotent by id.
   */
  async function sendAndAttribute(slices: readonly Slice[]): Promise<void> {
    const live = slices.filter((slice) => !slice.pending.failed);
    if (live.length === 0) return;
    const error = await produce(live);
    if (error === undefined) {
      acknowledge(live);
      return;
    }

    const errorType = kafkaErrorType(error);
    if (errorType === undefined || !RECORD_ERROR_TYPES.has(errorType)) {
      const failure = somaError('SOMA_ERR_KAFKA_PRODUCE_FAILED', { topic, detail: describeError(error) }, { cause: error });
      for (const slice of live) fail(slice.pending, failure);
      return;
    }

    if (live.length > 1) {
      for (const slice of live) await sendAndAttribute([slice]);
      return;
    }
    const { pending, messages } = live[0] as Slice;
    if (messages.length > 1) {
      const half = Math.ceil(messages.length / 2);
      // Each half is acknowledged on its own, so the request counts them as two sends.
      await sendAndAttribute([{ pending, messages: messages.slice(0, half) }]);
      await sendAndAttribute([{ pending, messages: messages.slice(half) }]);
      return;
    }
    const [message] = messages as [Message];
    const failure = somaError(
      'SOMA_ERR_KAFKA_MESSAGE_REJECTED',
      { topic, id: message.key, bytes: recordBytes(message), limit: maxMessageBytes, detail: describeError(error) },
      { cause: error },
    );
    fail(pending, failure);
  }

  async function drainQueue(): Promise<void> {
    sending = true;
    try {
      while (queue.length > 0) await sendAndAttribute(takeSend());
    } finally {
      sending = false;
    }
  }

  return {
    maxMessageBytes,

    messageBytes(event) {
      return recordBytes(toMessage(event));
    },

    publish(events) {
      if (closed) return Promise.reject(somaError('SOMA_ERR_SERVICE_DRAINING', {}));
      if (events.length === 0) return Promise.resolve();
      const messages = events.map(toMessage);
      return new Promise<void>((resolve, reject) => {
        queue.push({ queued: messages, unacknowledged: 0, failed: false, resolve, reject });
        if (!sending) void drainQueue();
      });
    },

    async close() {
      closed = true;
      // Flush: requests already queued are sent before the producer disconnects.
      while (sending) await new Promise((resolve) => setTimeout(resolve, 10));
      const active = current;
      current = undefined;
      if (active === undefined) return;
      const producer = await active.catch(() => undefined);
      await producer?.disconnect();
      log.info({ topic }, 'kafka producer disconnected');
    },
  };
}
