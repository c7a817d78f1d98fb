/**
 * Construction of kafkajs clients with the settings the service relies on:
 * short connection and request timeouts so an unreachable broker turns into a
 * 503 within seconds, and kafkajs log lines routed into pino.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Kafka, logLevel as KafkaLogLevel, type KafkaConfig, type logCreator, type SASLOptions } from 'kafkajs';
import type { Logger } from 'pino';
import type { KafkaSaslMechanism } from '../config.js';
import { installRequestQueueTimerFix, PATCHED_KAFKAJS_VERSION } from './kafkajs-request-queue.js';

export const KAFKA_CONNECTION_TIMEOUT_MS = 3_000;
export const KAFKA_REQUEST_TIMEOUT_MS = 10_000;

type PinoLevel = 'error' | 'warn' | 'info' | 'debug' | 'trace';

/**
 * kafkajs protocol error messages by error type, from the kafkajs error table
 * (kafkajs 2.2.4, src/protocol/error.js). kafkajs logs a failed response with
 * the message only, so the type is looked up here. An empty map, if another
 * kafkajs version moved the table, only stops the downgrades below.
 */
function loadProtocolErrorTypes(): Map<string, string> {
  try {
    const table = createRequire(import.meta.url)('kafkajs/src/protocol/error.js') as { errorCodes: { type: string; message: string }[] };
    return new Map(table.errorCodes.map((entry) => [entry.message, entry.type]));
  } catch {
    return new Map();
  }
}

const PROTOCOL_ERROR_TYPES = loadProtocolErrorTypes();

/**
 * Error types that brokers return while a topic or consumer group is still
 * being set up, which happens on every clean start. kafkajs retries the
 * request, and a failure that outlasts the retries reaches the service code,
 * which logs it where it handles it. kafkajs names the coordinator states
 * GROUP_COORDINATOR_NOT_AVAILABLE (Kafka's COORDINATOR_NOT_AVAILABLE),
 * GROUP_LOAD_IN_PROGRESS (COORDINATOR_LOAD_IN_PROGRESS) and
 * NOT_COORDINATOR_FOR_GROUP (NOT_COORDINATOR).
 */
const TRANSIENT_ERROR_TYPES = new Set([
  'LEADER_NOT_AVAILABLE',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'NOT_LEADER_FOR_PARTITION',
  'GROUP_COORDINATOR_NOT_AVAILABLE',
  'GROUP_LOAD_IN_PROGRESS',
  'NOT_COORDINATOR_FOR_GROUP',
]);

/**
 * Error types that are a normal step of a consumer group rebalance, but only
 * in the responses listed for each. When members join or leave, the
 * coordinator returns REBALANCE_IN_PROGRESS to the JoinGroup, SyncGroup and
 * Heartbeat of the others, which then join again. A first JoinGroup gets
 * MEMBER_ID_REQUIRED with the member id to join with. UNKNOWN_MEMBER_ID and
 * ILLEGAL_GENERATION during a join or a heartbeat make kafkajs join again
 * with a new member id or generation. The same types in an OffsetCommit
 * response mean that a commit was lost, so they stay errors there.
 */
const REBALANCE_ERROR_TYPES = new Map<string, readonly string[]>([
  ['REBALANCE_IN_PROGRESS', ['JoinGroup', 'SyncGroup', 'Heartbeat']],
  ['MEMBER_ID_REQUIRED', ['JoinGroup']],
  ['UNKNOWN_MEMBER_ID', ['JoinGroup', 'SyncGroup', 'Heartbeat']],
  ['ILLEGAL_GENERATION', ['SyncGroup', 'Heartbeat']],
]);

/** Returns the API name of a kafkajs response log message, such as SyncGroup for `Response SyncGroup(key: 14, version: 3)`. */
function responseApiName(message: string): string | undefined {
  return /^Response ([A-Za-z]+)\(/.exec(message)?.[1];
}

function isTransientResponse(message: string, errorType: string): boolean {
  if (TRANSIENT_ERROR_TYPES.has(errorType)) return true;
  const apis = REBALANCE_ERROR_TYPES.get(errorType);
  const api = responseApiName(message);
  return apis !== undefined && api !== undefined && apis.includes(api);
}

/** kafkajs warns about the retry limit on every producer; the service sets that limit on purpose (see producer.ts). */
const IDEMPOTENT_RETRY_WARNING = 'Limiting retries for the idempotent producer may invalidate EoS guarantees';

/**
 * Chooses the pino level of one kafkajs log entry. Failed responses of
 * transient broker states and of group rebalances drop from error to warn. A failed CreateTopics
 * response drops to debug, because ensureTopics logs the outcome. Every other
 * error stays an error.
 */
export function kafkaLogLevel(level: KafkaLogLevel, message: string, fields: Record<string, unknown>): { level: PinoLevel; errorType?: string } {
  if (level === KafkaLogLevel.ERROR) {
    const errorType = typeof fields.error === 'string' ? PROTOCOL_ERROR_TYPES.get(fields.error) : undefined;
    if (message.startsWith('Response CreateTopics')) return { level: 'debug', ...(errorType === undefined ? {} : { errorType }) };
    if (message.startsWith('Response ') && errorType !== undefined && isTransientResponse(message, errorType)) return { level: 'warn', errorType };
    return errorType === undefined ? { level: 'error' } : { level: 'error', errorType };
  }
  if (level === KafkaLogLevel.WARN) return { level: message === IDEMPOTENT_RETRY_WARNING ? 'debug' : 'warn' };
  if (level === KafkaLogLevel.INFO) return { level: 'debug' };
  return { level: 'trace' };
}

function pinoLogCreator(log: Logger): logCreator {
  const target = log.child({ component: 'kafkajs' });
  return () =>
    ({ level, log: entry }) => {
      const { message, timestamp: _timestamp, logger: _logger, ...fields } = entry;
      const chosen = kafkaLogLevel(level, message, fields);
      target[chosen.level](chosen.errorType === undefined ? fields : { ...fields, errorType: chosen.errorType }, message);
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
