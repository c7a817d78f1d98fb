/**
 * Publishes events that cannot be written to the dead-letter topic, with the
 * reason, the consumer group and the source offset, so an operator can see
 * why each one was skipped and replay it after fixing it.
 */
import type { Kafka, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import type { DeadLetterReason } from './decode-event.js';

export interface DeadLetter {
  reason: DeadLetterReason;
  detail: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
}

export interface DeadLetterSink {
  send(group: string, sourceTopic: string, letters: readonly DeadLetter[]): Promise<void>;
  close(): Promise<void>;
}

export function createDeadLetterSink(options: { kafka: Kafka; topic: string; log: Logger; metrics: Metrics }): DeadLetterSink {
  const { kafka, topic, log, metrics } = options;
  let connected: Promise<Producer> | undefined;

  function producer(): Promise<Producer> {
    if (connected === undefined) {
      const created = kafka.producer({ allowAutoTopicCreation: false });
      connected = created.connect().then(() => created);
      connected.catch(() => {
        connected = undefined;
      });
    }
    return connected;
  }

  return {
    async send(group, sourceTopic, letters) {
      if (letters.length === 0) return;
      const messages = letters.map((letter) => ({
        key: letter.key,
        value: JSON.stringify({
          reason: letter.reason,
          detail: letter.detail,
          group,
          source: { topic: sourceTopic, partition: letter.partition, offset: letter.offset },
          dead_lettered_at: new Date().toISOString(),
          original: letter.value === null ? null : letter.value.toString('utf8'),
        }),
        headers: { 'soma-dead-letter-reason': letter.reason, 'soma-consumer-group': group },
      }));
      await (await producer()).send({ topic, messages, acks: -1 });

      for (const letter of letters) {
        metrics.deadLetter.inc({ reason: letter.reason });
        log.warn(
          { group, topic: sourceTopic, partition: letter.partition, offset: letter.offset, reason: letter.reason, detail: letter.detail },
          'event dead-lettered',
        );
      }
    },

    async close() {
      const active = connected;
      connected = undefined;
      const created = await active?.catch(() => undefined);
      await created?.disconnect();
    },
  };
}
