/**
 * Publishes events to the memory topic: one produce call per request with
 * acks=all from an idempotent producer, keyed by item id.
 *
 * After a failed send the producer is replaced by a new one (a new producer
 * id). kafkajs 2.2.4 rolls its sequence numbers back when a produce request
 * fails; if that request had in fact been written, the next batch would reuse
 * the sequence and the broker could discard it as a duplicate while
 * acknowledging it. A fresh producer id starts fresh sequences.
 */
import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { somaError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { MemoryEvent } from './schema.js';

/** Time the broker has to replicate one produce request before it fails. */
export const PRODUCE_TIMEOUT_MS = 5_000;

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
      createPartitioner: Partitioners.DefaultPartitioner,
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

  return {
    async publish(events) {
      if (closed) throw somaError('SOMA_ERR_SERVICE_DRAINING', {});
      const active = (current ??= connectProducer());
      const messages = events.map((event) => ({ key: event.id, value: JSON.stringify(event) }));
      const stopTimer = metrics.kafkaProduceDuration.startTimer();
      try {
        const producer = await active;
        await producer.send({ topic, messages, acks: -1, timeout: PRODUCE_TIMEOUT_MS });
      } catch (error) {
        replaceProducer(active);
        log.warn({ err: error, topic, count: events.length }, 'kafka produce failed');
        throw somaError('SOMA_ERR_KAFKA_PRODUCE_FAILED', { topic, detail: describeError(error) }, { cause: error });
      } finally {
        stopTimer();
      }
    },

    async close() {
      closed = true;
      const active = current;
      current = undefined;
      if (active === undefined) return;
      const producer = await active.catch(() => undefined);
      await producer?.disconnect();
      log.info({ topic }, 'kafka producer disconnected');
    },
  };
}
