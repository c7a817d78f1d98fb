/**
 * Construction of kafkajs clients with the settings the service relies on:
 * short connection and request timeouts so an unreachable broker turns into a
 * 503 within seconds, and kafkajs log lines routed into pino.
 */
import { Kafka, logLevel as KafkaLogLevel, type logCreator } from 'kafkajs';
import type { Logger } from 'pino';

export const KAFKA_CONNECTION_TIMEOUT_MS = 3_000;
export const KAFKA_REQUEST_TIMEOUT_MS = 10_000;

function pinoLogCreator(log: Logger): logCreator {
  return () =>
    ({ level, log: entry }) => {
      const { message, timestamp: _timestamp, logger: _logger, ...fields } = entry;
      const target = log.child({ component: 'kafkajs' });
      if (level === KafkaLogLevel.ERROR) target.error(fields, message);
      else if (level === KafkaLogLevel.WARN) target.warn(fields, message);
      else if (level === KafkaLogLevel.INFO) target.debug(fields, message);
      else target.trace(fields, message);
    };
}

export function createKafka(options: { brokers: string[]; clientId: string; log: Logger }): Kafka {
  return new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    connectionTimeout: KAFKA_CONNECTION_TIMEOUT_MS,
    requestTimeout: KAFKA_REQUEST_TIMEOUT_MS,
    retry: { initialRetryTime: 100, maxRetryTime: 2_000, retries: 3 },
    logLevel: KafkaLogLevel.INFO,
    logCreator: pinoLogCreator(options.log),
  });
}
