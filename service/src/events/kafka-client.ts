/**
 * Construction of kafkajs clients with the settings the service relies on:
 * short connection and request timeouts so an unreachable broker turns into a
 * 503 within seconds, and kafkajs log lines routed into pino.
 */
import { readFileSync } from 'node:fs';
import { Kafka, logLevel as KafkaLogLevel, type KafkaConfig, type logCreator, type SASLOptions } from 'kafkajs';
import type { Logger } from 'pino';
import type { KafkaSaslMechanism } from '../config.js';
import { installRequestQueueTimerFix, PATCHED_KAFKAJS_VERSION } from './kafkajs-request-queue.js';

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

/** TLS and SASL settings for a managed Kafka; all optional. */
export interface KafkaSecurity {
  ssl?: boolean;
  sslCaFile?: string;
  saslMechanism?: KafkaSaslMechanism;
  saslUsername?: string;
  saslPassword?: string;
}

/** Builds the kafkajs `ssl` and `sasl` options; the CA file is read once, here. */
export function kafkaSecurityOptions(security: KafkaSecurity): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const options: Pick<KafkaConfig, 'ssl' | 'sasl'> = {};
  if (security.ssl) {
    options.ssl = security.sslCaFile ? { ca: [readFileSync(security.sslCaFile, 'utf8')] } : true;
  }
  if (security.saslMechanism && security.saslUsername !== undefined && security.saslPassword !== undefined) {
    options.sasl = {
      mechanism: security.saslMechanism,
      username: security.saslUsername,
      password: security.saslPassword,
    } as SASLOptions;
  }
  return options;
}

export function createKafka(options: {
  brokers: string[];
  clientId: string;
  log: Logger;
  security?: KafkaSecurity;
}): Kafka {
  if (!installRequestQueueTimerFix()) {
    // Only the CPU of idle connections is at stake, so the service runs on.
    options.log.warn({ expectedVersion: PATCHED_KAFKAJS_VERSION }, 'kafkajs idle timer fix skipped for another kafkajs version');
  }
  return new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    ...kafkaSecurityOptions(options.security ?? {}),
    connectionTimeout: KAFKA_CONNECTION_TIMEOUT_MS,
    requestTimeout: KAFKA_REQUEST_TIMEOUT_MS,
    retry: { initialRetryTime: 100, maxRetryTime: 2_000, retries: 3 },
    logLevel: KafkaLogLevel.INFO,
    logCreator: pinoLogCreator(options.log),
  });
}
