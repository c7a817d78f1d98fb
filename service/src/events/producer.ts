/**
 * Publishes events to the memory topic with acks=all from an idempotent
 * producer, keyed by item id.
 *
 * kafkajs lets an idempotent producer have one produce request in flight per
 * broker, so concurrent requests would queue behind each other one produce
 * call at a time. Instead, the events of requests that arrive while a send is
 * in flight are coalesced into the next send, and each request resolves when
 * the send that carried its events is acknowledged.
 *
 * After a failed send the producer is replaced by a new one (a new producer
 * id). kafkajs 2.2.4 rolls its sequence numbers back when a produce request
 * fails. If that request had in fact been written, the next batch would reuse
 * the sequence and the broker could discard it as a duplicate while
 * acknowledging it. A fresh producer id starts fresh sequences.
 */
import type { Kafka, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { somaError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { createKeyHashPartitioner } from './partitioner.js';
import type { MemoryEvent } from './schema.js';

/** Time the broker has to replicate one produce request before it fails. */
export const PRODUCE_TIMEOUT_MS = 5_000;
/** Upper bounds of one coalesced send; a single request larger than this is still sent whole. */
export const MAX_MESSAGES_PER_SEND = 10_000;
export const MAX_BYTES_PER_SEND = 8 * 1024 * 1024;

interface Message {
  key: string;
  value: string;
}

interface Pending {
  messages: Message[];
  bytes: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export interface EventPublisher {
  publish(events: readonly MemoryEvent[]): Promise<void>;
  close(): Promise<void>;
}

export interface ProducerOptions {
  kafka: Kafka;
  topic: string;
  log: Logger;
  metrics: Metrics;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function createEventPublisher(options: ProducerOptions): EventPublisher {
  const { kafka, topic, log, metrics } = options;
  let current: Promise<Producer> | undefined;
  let closed = false;

  function connectProducer(): Promise<Producer> {
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: createKeyHashPartitioner,
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

  /** Takes queued requests up to the per-send bounds; always at least one. */
  function takeBatch(): Pending[] {
    let messages = 0;
    let bytes = 0;
    let count = 0;
    for (const pending of queue) {
      if (count > 0 && (messages + pending.messages.length > MAX_MESSAGES_PER_SEND || bytes + pending.bytes > MAX_BYTES_PER_SEND)) break;
      messages += pending.messages.length;
      bytes += pending.bytes;
      count++;
    }
    return queue.splice(0, count);
  }

  async function sendBatch(batch: Pending[]): Promise<void> {
    const active = (current ??= connectProducer());
    const messages = batch.length === 1 ? (batch[0] as Pending).messages : batch.flatMap((pending) => pending.messages);
    const stopTimer = metrics.kafkaProduceDuration.startTimer();
    try {
      const producer = await active;
      await producer.send({ topic, messages, acks: -1, timeout: PRODUCE_TIMEOUT_MS });
      for (const pending of batch) pending.resolve();
    } catch (error) {
      replaceProducer(active);
      log.warn({ err: error, topic, count: messages.length, requests: batch.length }, 'kafka produce failed');
      const failure = somaError('SOMA_ERR_KAFKA_PRODUCE_FAILED', { topic, detail: describeError(error) }, { cause: error });
      for (const pending of batch) pending.reject(failure);
    } finally {
      stopTimer();
    }
  }

  async function drainQueue(): Promise<void> {
    sending = true;
    while (queue.length > 0) await sendBatch(takeBatch());
    sending = false;
  }

  return {
    publish(events) {
      if (closed) return Promise.reject(somaError('SOMA_ERR_SERVICE_DRAINING', {}));
      let bytes = 0;
      const messages = events.map((event) => {
        const value = JSON.stringify(event);
        bytes += value.length + event.id.length;
        return { key: event.id, value };
      });
      return new Promise<void>((resolve, reject) => {
        queue.push({ messages, bytes, resolve, reject });
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
