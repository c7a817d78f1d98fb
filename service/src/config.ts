/**
 * Service configuration: read once from an explicit allow-list of SOMA_*
 * environment variables, converted to typed values, validated by an ajv
 * schema and frozen. Other environment variables are never read.
 */
import { Ajv } from 'ajv';
import { somaError } from './errors.js';

export type Role = 'api' | 'consumer' | 'all';
export type ConsumerKind = 'kv' | 'vector';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export type KafkaSaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';

export interface ServiceConfig {
  role: Role;
  host: string;
  port: number;
  eventingEnabled: boolean;
  kafkaBrokers: string[];
  kafkaTopic: string;
  kafkaDlqTopic: string;
  kafkaPartitions: number;
  /** TLS to the brokers; a managed Kafka usually needs it together with SASL. */
  kafkaSsl: boolean;
  /** PEM file with the CA that signed the brokers' certificates; unset means the system CAs. */
  kafkaSslCaFile: string | undefined;
  kafkaSaslMechanism: KafkaSaslMechanism | undefined;
  kafkaSaslUsername: string | undefined;
  kafkaSaslPassword: string | undefined;
  /** Largest Kafka record (key, value, headers and framing) per item, and largest record batch per partition of one send. */
  kafkaMaxMessageBytes: number;
  kvGroup: string;
  vectorGroup: string;
  postgresUrl: string | undefined;
  qdrantUrl: string | undefined;
  qdrantApiKey: string | undefined;
  vectorSize: number;
  defaultNamespace: string;
  apiToken: string | undefined;
  maxBodyBytes: number;
  maxBulkItems: number;
  maxTextLength: number;
  logLevel: LogLevel;
  consumers: ConsumerKind[];
}

export const DEFAULT_ROLE: Role = 'all';
export const DEFAULT_HOST = '0.0.0.0';
export const DEFAULT_PORT = 9595;
export const DEFAULT_KAFKA_TOPIC = 'memory.events';
export const DEFAULT_KAFKA_DLQ_TOPIC = 'memory.events.dlq';
export const DEFAULT_KAFKA_PARTITIONS = 6;
/**
 * Kafka's default broker message.max.bytes (and topic max.message.bytes) is
 * 1,048,588 bytes: 1 MiB plus the 12-byte log overhead. It bounds a whole
 * record batch, whose header takes 61 bytes. 1,000,000 leaves about 48 KB
 * for that header and for a broker whose limit was set to a round 1 MiB.
 */
export const DEFAULT_KAFKA_MAX_MESSAGE_BYTES = 1_000_000;
export const DEFAULT_KV_GROUP = 'soma-kv-writer';
export const DEFAULT_VECTOR_GROUP = 'soma-vector-indexer';
export const DEFAULT_VECTOR_SIZE = 128;
export const DEFAULT_NAMESPACE = 'api_ns';
/** 8 MiB holds a chunk of 1000 items of a few KiB each. */
export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;
export const DEFAULT_MAX_BULK_ITEMS = 1000;
export const DEFAULT_MAX_TEXT_LENGTH = 65_536;
export const DEFAULT_LOG_LEVEL: LogLevel = 'info';
export const DEFAULT_CONSUMERS: ConsumerKind[] = ['kv', 'vector'];

/** The environment variables the service reads; `EVENTING_ENABLED` is an alias of SOMA_EVENTING_ENABLED. */
export const ENV_KEYS = [
  'SOMA_ROLE',
  'SOMA_HOST',
  'SOMA_PORT',
  'SOMA_EVENTING_ENABLED',
  'EVENTING_ENABLED',
  'SOMA_KAFKA_BROKERS',
  'SOMA_KAFKA_TOPIC',
  'SOMA_KAFKA_DLQ_TOPIC',
  'SOMA_KAFKA_PARTITIONS',
  'SOMA_KAFKA_SSL',
  'SOMA_KAFKA_SSL_CA_FILE',
  'SOMA_KAFKA_SASL_MECHANISM',
  'SOMA_KAFKA_SASL_USERNAME',
  'SOMA_KAFKA_SASL_PASSWORD',
  'SOMA_KAFKA_MAX_MESSAGE_BYTES',
  'SOMA_KV_GROUP',
  'SOMA_VECTOR_GROUP',
  'SOMA_POSTGRES_URL',
  'SOMA_QDRANT_URL',
  'SOMA_QDRANT_API_KEY',
  'SOMA_VECTOR_SIZE',
  'SOMA_DEFAULT_NAMESPACE',
  'SOMA_API_TOKEN',
  'SOMA_MAX_BODY_BYTES',
  'SOMA_MAX_BULK_ITEMS',
  'SOMA_MAX_TEXT_LENGTH',
  'SOMA_LOG_LEVEL',
  'SOMA_CONSUMERS',
] as const;

const SECRET_KEYS = new Set(['SOMA_API_TOKEN', 'SOMA_QDRANT_API_KEY', 'SOMA_KAFKA_SASL_PASSWORD']);

const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]*$';

const CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    role: { enum: ['api', 'consumer', 'all'] },
    host: { type: 'string', minLength: 1 },
    port: { type: 'integer', minimum: 0, maximum: 65535 },
    eventingEnabled: { type: 'boolean' },
    kafkaBrokers: { type: 'array', items: { type: 'string', pattern: '^[^\\s:]+:[0-9]{1,5}$' } },
    kafkaTopic: { type: 'string', minLength: 1, maxLength: 249, pattern: NAME_PATTERN },
    kafkaDlqTopic: { type: 'string', minLength: 1, maxLength: 249, pattern: NAME_PATTERN },
    kafkaPartitions: { type: 'integer', minimum: 1, maximum: 1000 },
    kafkaSsl: { type: 'boolean' },
    kafkaSslCaFile: { type: 'string', minLength: 1 },
    kafkaSaslMechanism: { enum: ['plain', 'scram-sha-256', 'scram-sha-512'] },
    kafkaSaslUsername: { type: 'string', minLength: 1 },
    kafkaSaslPassword: { type: 'string', minLength: 1 },
    // The broker's socket.request.max.bytes defaults to 100 MiB; 64 MiB stays well below it.
    kafkaMaxMessageBytes: { type: 'integer', minimum: 1024, maximum: 64 * 1024 * 1024 },
    kvGroup: { type: 'string', minLength: 1 },
    vectorGroup: { type: 'string', minLength: 1 },
    postgresUrl: { type: 'string', pattern: '^postgres(ql)?://' },
    qdrantUrl: { type: 'string', pattern: '^https?://' },
    qdrantApiKey: { type: 'string', minLength: 1 },
    vectorSize: { type: 'integer', minimum: 1, maximum: 65536 },
    defaultNamespace: { type: 'string', minLength: 1, maxLength: 128, pattern: NAME_PATTERN },
    apiToken: { type: 'string', minLength: 1 },
    maxBodyBytes: { type: 'integer', minimum: 1024 },
    maxBulkItems: { type: 'integer', minimum: 1 },
    maxTextLength: { type: 'integer', minimum: 1 },
    logLevel: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
    consumers: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: { enum: ['kv', 'vector'] },
    },
  },
} as const;

/** Maps each config field to the environment variable it comes from, for error messages. */
const FIELD_TO_ENV: Record<keyof ServiceConfig, string> = {
  role: 'SOMA_ROLE',
  host: 'SOMA_HOST',
  port: 'SOMA_PORT',
  eventingEnabled: 'SOMA_EVENTING_ENABLED',
  kafkaBrokers: 'SOMA_KAFKA_BROKERS',
  kafkaTopic: 'SOMA_KAFKA_TOPIC',
  kafkaDlqTopic: 'SOMA_KAFKA_DLQ_TOPIC',
  kafkaPartitions: 'SOMA_KAFKA_PARTITIONS',
  kafkaSsl: 'SOMA_KAFKA_SSL',
  kafkaSslCaFile: 'SOMA_KAFKA_SSL_CA_FILE',
  kafkaSaslMechanism: 'SOMA_KAFKA_SASL_MECHANISM',
  kafkaSaslUsername: 'SOMA_KAFKA_SASL_USERNAME',
  kafkaSaslPassword: 'SOMA_KAFKA_SASL_PASSWORD',
  kafkaMaxMessageBytes: 'SOMA_KAFKA_MAX_MESSAGE_BYTES',
  kvGroup: 'SOMA_KV_GROUP',
  vectorGroup: 'SOMA_VECTOR_GROUP',
  postgresUrl: 'SOMA_POSTGRES_URL',
  qdrantUrl: 'SOMA_QDRANT_URL',
  qdrantApiKey: 'SOMA_QDRANT_API_KEY',
  vectorSize: 'SOMA_VECTOR_SIZE',
  defaultNamespace: 'SOMA_DEFAULT_NAMESPACE',
  apiToken: 'SOMA_API_TOKEN',
  maxBodyBytes: 'SOMA_MAX_BODY_BYTES',
  maxBulkItems: 'SOMA_MAX_BULK_ITEMS',
  maxTextLength: 'SOMA_MAX_TEXT_LENGTH',
  logLevel: 'SOMA_LOG_LEVEL',
  consumers: 'SOMA_CONSUMERS',
};

const ajv = new Ajv({ allErrors: false, strict: true });
const validateConfig = ajv.compile(CONFIG_SCHEMA);

type Env = Readonly<Record<string, string | undefined>>;

function configError(key: string, value: string | undefined, problem: string): Error {
  const shown = value === undefined ? '(unset)' : SECRET_KEYS.has(key) ? '(redacted)' : JSON.stringify(value);
  return somaError('SOMA_ERR_CONFIG_INVALID', { key, value: shown, problem });
}

function readString(env: Env, key: string): string | undefined {
  const value = env[key]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function readInteger(env: Env, key: string, fallback: number): number {
  const raw = readString(env, key);
  if (raw === undefined) return fallback;
  if (!/^[0-9]+$/.test(raw)) throw configError(key, raw, 'expected a non-negative integer');
  return Number(raw);
}

function readBoolean(env: Env, key: string): boolean | undefined {
  const raw = readString(env, key)?.toLowerCase();
  if (raw === undefined) return undefined;
  if (['true', '1', 'yes', 'on'].includes(raw)) return true;
  if (['false', '0', 'no', 'off'].includes(raw)) return false;
  throw configError(key, env[key], 'expected true or false');
}

function readList(env: Env, key: string): string[] | undefined {
  const raw = readString(env, key);
  if (raw === undefined) return undefined;
  return raw
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
}

function readEventingEnabled(env: Env): boolean {
  const primary = readBoolean(env, 'SOMA_EVENTING_ENABLED');
  if (primary !== undefined) return primary;
  return readBoolean(env, 'EVENTING_ENABLED') ?? true;
}

function checkRequirements(config: ServiceConfig): void {
  const needsApi = config.role !== 'consumer';
  const needsConsumers = config.role !== 'api' && config.eventingEnabled;

  if (config.role === 'consumer' && !config.eventingEnabled) {
    throw configError('SOMA_ROLE', config.role, 'the consumer role needs SOMA_EVENTING_ENABLED=true');
  }
  if (config.eventingEnabled && config.kafkaBrokers.length === 0) {
    throw configError('SOMA_KAFKA_BROKERS', undefined, 'evented mode needs brokers, e.g. 127.0.0.1:9092');
  }
  const saslFields = [config.kafkaSaslMechanism, config.kafkaSaslUsername, config.kafkaSaslPassword];
  if (saslFields.some((value) => value !== undefined) && saslFields.some((value) => value === undefined)) {
    const missing = ['SOMA_KAFKA_SASL_MECHANISM', 'SOMA_KAFKA_SASL_USERNAME', 'SOMA_KAFKA_SASL_PASSWORD'].find(
      (_key, index) => saslFields[index] === undefined,
    ) as string;
    throw configError(missing, undefined, 'SASL needs the mechanism, the username and the password together');
  }
  if (config.kafkaSslCaFile !== undefined && !config.kafkaSsl) {
    throw configError('SOMA_KAFKA_SSL', 'false', 'SOMA_KAFKA_SSL_CA_FILE is set, so set SOMA_KAFKA_SSL=true too');
  }
  if (config.kafkaTopic === config.kafkaDlqTopic) {
    throw configError('SOMA_KAFKA_DLQ_TOPIC', config.kafkaDlqTopic, 'it must differ from SOMA_KAFKA_TOPIC');
  }

  const direct = needsApi && !config.eventingEnabled;
  const needsPostgres = direct || (needsConsumers && config.consumers.includes('kv'));
  const needsQdrant = direct || (needsConsumers && config.consumers.includes('vector'));
  if (needsPostgres && config.postgresUrl === undefined) {
    throw configError('SOMA_POSTGRES_URL', undefined, 'set it to a postgres:// URL for the kv_store database');
  }
  if (needsQdrant && config.qdrantUrl === undefined) {
    throw configError('SOMA_QDRANT_URL', undefined, 'set it to the Qdrant REST base URL, e.g. http://127.0.0.1:6333');
  }
}

/** Reads, validates and freezes the service configuration from `env`. */
export function loadConfig(env: Env): Readonly<ServiceConfig> {
  const config: ServiceConfig = {
    role: (readString(env, 'SOMA_ROLE') ?? DEFAULT_ROLE) as Role,
    host: readString(env, 'SOMA_HOST') ?? DEFAULT_HOST,
    port: readInteger(env, 'SOMA_PORT', DEFAULT_PORT),
    eventingEnabled: readEventingEnabled(env),
    kafkaBrokers: readList(env, 'SOMA_KAFKA_BROKERS') ?? [],
    kafkaTopic: readString(env, 'SOMA_KAFKA_TOPIC') ?? DEFAULT_KAFKA_TOPIC,
    kafkaDlqTopic: readString(env, 'SOMA_KAFKA_DLQ_TOPIC') ?? DEFAULT_KAFKA_DLQ_TOPIC,
    kafkaPartitions: readInteger(env, 'SOMA_KAFKA_PARTITIONS', DEFAULT_KAFKA_PARTITIONS),
    kafkaSsl: readBoolean(env, 'SOMA_KAFKA_SSL') ?? false,
    kafkaSslCaFile: readString(env, 'SOMA_KAFKA_SSL_CA_FILE'),
    kafkaSaslMechanism: readString(env, 'SOMA_KAFKA_SASL_MECHANISM')?.toLowerCase() as KafkaSaslMechanism | undefined,
    kafkaSaslUsername: readString(env, 'SOMA_KAFKA_SASL_USERNAME'),
    kafkaSaslPassword: readString(env, 'SOMA_KAFKA_SASL_PASSWORD'),
    kafkaMaxMessageBytes: readInteger(env, 'SOMA_KAFKA_MAX_MESSAGE_BYTES', DEFAULT_KAFKA_MAX_MESSAGE_BYTES),
    kvGroup: readString(env, 'SOMA_KV_GROUP') ?? DEFAULT_KV_GROUP,
    vectorGroup: readString(env, 'SOMA_VECTOR_GROUP') ?? DEFAULT_VECTOR_GROUP,
    postgresUrl: readString(env, 'SOMA_POSTGRES_URL'),
    qdrantUrl: readString(env, 'SOMA_QDRANT_URL'),
    qdrantApiKey: readString(env, 'SOMA_QDRANT_API_KEY'),
    vectorSize: readInteger(env, 'SOMA_VECTOR_SIZE', DEFAULT_VECTOR_SIZE),
    defaultNamespace: readString(env, 'SOMA_DEFAULT_NAMESPACE') ?? DEFAULT_NAMESPACE,
    apiToken: readString(env, 'SOMA_API_TOKEN'),
    maxBodyBytes: readInteger(env, 'SOMA_MAX_BODY_BYTES', DEFAULT_MAX_BODY_BYTES),
    maxBulkItems: readInteger(env, 'SOMA_MAX_BULK_ITEMS', DEFAULT_MAX_BULK_ITEMS),
    maxTextLength: readInteger(env, 'SOMA_MAX_TEXT_LENGTH', DEFAULT_MAX_TEXT_LENGTH),
    logLevel: (readString(env, 'SOMA_LOG_LEVEL') ?? DEFAULT_LOG_LEVEL) as LogLevel,
    consumers: (readList(env, 'SOMA_CONSUMERS') ?? DEFAULT_CONSUMERS) as ConsumerKind[],
  };

  // Unset optional values are undefined, which JSON Schema cannot express; validate without them.
  const present = Object.fromEntries(Object.entries(config).filter(([, value]) => value !== undefined));
  if (!validateConfig(present)) {
    const issue = validateConfig.errors?.[0];
    const field = (issue?.instancePath.split('/')[1] ?? '') as keyof ServiceConfig;
    const key = FIELD_TO_ENV[field] ?? 'SOMA_*';
    throw configError(key, env[key], issue?.message ?? 'invalid value');
  }
  checkRequirements(config);

  config.kafkaBrokers = Object.freeze([...config.kafkaBrokers]) as string[];
  config.consumers = Object.freeze([...config.consumers]) as ConsumerKind[];
  return Object.freeze(config);
}

/** The config without secrets and with passwords removed from URLs, for the startup log. */
export function describeConfig(config: Readonly<ServiceConfig>): Record<string, unknown> {
  return {
    ...config,
    postgresUrl: config.postgresUrl === undefined ? undefined : redactUrl(config.postgresUrl),
    qdrantApiKey: config.qdrantApiKey === undefined ? undefined : '(redacted)',
    kafkaSaslPassword: config.kafkaSaslPassword === undefined ? undefined : '(redacted)',
    apiToken: config.apiToken === undefined ? undefined : '(redacted)',
  };
}

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = 'redacted';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}
