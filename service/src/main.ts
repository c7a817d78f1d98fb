/**
 * The entry point: reads the environment, opens the connections the role
 * needs, listens, and drains on SIGTERM or SIGINT. Roles: `api` (HTTP store
 * API), `consumer` (the writers named in SOMA_CONSUMERS, plus /healthz,
 * /readyz and /metrics) and `all` (both in one process).
 */
import type { Admin, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { buildApp } from './app.js';
import { describeConfig, loadConfig, type ServiceConfig } from './config.js';
import { createBatchConsumer, type BatchConsumer } from './consumers/batch-consumer.js';
import { createDeadLetterSink, type DeadLetterSink } from './consumers/dead-letter.js';
import { createKvWriter } from './consumers/kv-writer.js';
import { startLagMonitor } from './consumers/lag-monitor.js';
import { createVectorIndexer } from './consumers/vector-indexer.js';
import { createFeatureHashingEmbedder } from './embedding/feature-hashing.js';
import { createKafka } from './events/kafka-client.js';
import { createEventPublisher, type EventPublisher } from './events/producer.js';
import { ensureTopics } from './events/topics.js';
import { createDirectSink, createEventedSink, type IngestSink } from './ingest-sink.js';
import { createLogger } from './logger.js';
import { createMetrics } from './metrics.js';
import { createReadiness, type DependencyName, type Probe } from './readiness.js';
import { createPostgresKvStore, type KvStore } from './stores/postgres-kv-store.js';
import { createQdrantVectorStore, type VectorStore } from './stores/qdrant-vector-store.js';

/** Maximum duration of the drain before the process exits anyway; Kubernetes waits 30 s by default before SIGKILL. */
export const SHUTDOWN_TIMEOUT_MS = 25_000;
/**
 * Time between readiness turning false and the listener closing. Requests
 * that arrive meanwhile are still served, with Connection: close. They were
 * sent before load balancers saw the readiness change, or were accepted but
 * not yet read, and closing at once would reset their connections.
 */
export const DRAIN_GRACE_MS = 2_000;
const EXIT_CONFIG_ERROR = 2;

interface KafkaAccess {
  kafka: Kafka;
  admin: Admin;
  /** Connects the admin client and creates the topics once; later calls only check the topic. */
  check(): Promise<string>;
  /** Resolves once the topics exist. Clients that name the topic start after it, because a kafkajs
   * client that asked for a missing topic keeps asking for it in every later metadata request. */
  topicsReady: Promise<void>;
}

function createKafkaAccess(config: Readonly<ServiceConfig>, log: Logger): KafkaAccess {
  const kafka = createKafka({
    brokers: config.kafkaBrokers,
    clientId: `soma-${config.role}`,
    log,
    security: {
      ssl: config.kafkaSsl,
      sslCaFile: config.kafkaSslCaFile,
      saslMechanism: config.kafkaSaslMechanism,
      saslUsername: config.kafkaSaslUsername,
      saslPassword: config.kafkaSaslPassword,
    },
  });
  const admin = kafka.admin({ retry: { retries: 1, initialRetryTime: 100 } });
  let connected = false;
  let topicsReady = false;
  let markTopicsReady: () => void = () => undefined;
  const topicsReadyPromise = new Promise<void>((resolve) => {
    markTopicsReady = resolve;
  });

  return {
    kafka,
    admin,
    topicsReady: topicsReadyPromise,
    async check() {
      try {
        if (!connected) {
          await admin.connect();
          connected = true;
        }
        if (!topicsReady) {
          const spec = { topic: config.kafkaTopic, dlqTopic: config.kafkaDlqTopic, partitions: config.kafkaPartitions };
          await ensureTopics(admin, spec, log);
          topicsReady = true;
          markTopicsReady();
        }
        const metadata = await admin.fetchTopicMetadata({ topics: [config.kafkaTopic] });
        const partitions = metadata.topics[0]?.partitions.length ?? 0;
        return `brokers ${config.kafkaBrokers.join(',')}; topic ${config.kafkaTopic} has ${partitions} partitions`;
      } catch (error) {
        if (connected) await admin.disconnect().catch(() => undefined);
        connected = false;
        throw new Error(`kafka at ${config.kafkaBrokers.join(',')} is unreachable: ${(error as Error).message}`, {
          cause: error,
        });
      }
    },
  };
}

async function run(): Promise<void> {
  let config: Readonly<ServiceConfig>;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    process.stderr.write(`soma: ${(error as Error).message}\n`);
    process.exit(EXIT_CONFIG_ERROR);
  }
  const log = createLogger(config.logLevel);
  log.info({ config: describeConfig(config) }, 'service starting');
  process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'unhandled promise rejection'));

  const metrics = createMetrics();
  const embedder = createFeatureHashingEmbedder(config.vectorSize);
  const runsApi = config.role !== 'consumer';
  const consumerKinds = config.role !== 'api' && config.eventingEnabled ? config.consumers : [];
  const direct = runsApi && !config.eventingEnabled;

  // Clients. Postgres and Qdrant are also opened by an evented API when
  // configured, for GET /memories/:id and POST /recall.
  const kafkaAccess = config.eventingEnabled ? createKafkaAccess(config, log) : undefined;
  const kvStore: KvStore | undefined =
    config.postgresUrl === undefined ? undefined : createPostgresKvStore({ connectionString: config.postgresUrl, log });
  const vectorStore: VectorStore | undefined =
    config.qdrantUrl === undefined
      ? undefined
      : createQdrantVectorStore({ url: config.qdrantUrl, apiKey: config.qdrantApiKey, vectorSize: config.vectorSize, log });

  // Readiness lists only the dependencies this role and mode write to.
  const probes: Partial<Record<DependencyName, Probe>> = {};
  if (kafkaAccess !== undefined) probes.kafka = () => kafkaAccess.check();
  let schemaReady = false;
  if (kvStore !== undefined && (direct || consumerKinds.includes('kv'))) {
    probes.postgres = async () => {
      if (schemaReady) await kvStore.ping();
      else await kvStore.ensureSchema();
      schemaReady = true;
      return 'public.kv_store is reachable';
    };
  }
  if (vectorStore !== undefined && (direct || consumerKinds.includes('vector'))) {
    probes.qdrant = () => vectorStore.check(config.defaultNamespace);
  }
  const endpoints = { kafka: config.kafkaBrokers.join(','), postgres: config.postgresUrl, qdrant: config.qdrantUrl };
  const readiness = createReadiness({ probes, log, endpoints });
  readiness.start();

  let publisher: EventPublisher | undefined;
  let sink: IngestSink | undefined;
  if (runsApi && kafkaAccess !== undefined) {
    publisher = createEventPublisher({
      kafka: kafkaAccess.kafka,
      topic: config.kafkaTopic,
      log,
      metrics,
      maxMessageBytes: config.kafkaMaxMessageBytes,
    });
    sink = createEventedSink(publisher, readiness);
  } else if (direct && kvStore !== undefined && vectorStore !== undefined) {
    sink = createDirectSink({ kvStore, vectorStore, embedder, metrics, readiness });
  }

  const app = buildApp({ config, log, metrics, readiness, embedder, sink, kvStore, vectorStore });
  await app.listen({ host: config.host, port: config.port });

  // Consumers start in the background once the topics exist.
  let shuttingDown = false;
  const consumers: BatchConsumer[] = [];
  let deadLetters: DeadLetterSink | undefined;
  let lagMonitor: { stop(): void } | undefined;
  if (kafkaAccess !== undefined && consumerKinds.length > 0) {
    deadLetters = createDeadLetterSink({ kafka: kafkaAccess.kafka, topic: config.kafkaDlqTopic, log, metrics });
    const groups: string[] = [];
    for (const kind of consumerKinds) {
      const group = kind === 'kv' ? config.kvGroup : config.vectorGroup;
      const writer =
        kind === 'kv'
          ? createKvWriter(kvStore as KvStore, metrics)
          : createVectorIndexer(vectorStore as VectorStore, embedder, metrics);
      const consumer = createBatchConsumer({ kafka: kafkaAccess.kafka, topic: config.kafkaTopic, group, writer, deadLetters, metrics, log });
      // A writer stuck on failing writes fails its store's check, so /readyz names it.
      readiness.addCondition(kind === 'kv' ? 'postgres' : 'qdrant', () => consumer.stallDetail());
      consumers.push(consumer);
      groups.push(group);
    }
    void kafkaAccess.topicsReady.then(() => {
      if (shuttingDown) return;
      for (const consumer of consumers) void consumer.start();
      lagMonitor = startLagMonitor({ admin: kafkaAccess.admin, groups, topic: config.kafkaTopic, metrics, log });
    });
  }

  async function shutdown(signal: string): Promise<void> {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info({ signal }, 'draining');
    const forceExit = setTimeout(() => {
      log.error({ timeoutMs: SHUTDOWN_TIMEOUT_MS }, 'drain timed out, exiting');
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS);
    forceExit.unref();

    // Readiness turns false first, so load balancers stop sending. After the
    // grace period the listener closes and app.close waits for the in-flight
    // requests. Then the producer flushes, the consumers commit and leave
    // their groups, and the pools close.
    readiness.setDraining();
    if (runsApi) await new Promise((resolve) => setTimeout(resolve, DRAIN_GRACE_MS));
    await app.close();
    await publisher?.close();
    await Promise.all(consumers.map((consumer) => consumer.stop()));
    lagMonitor?.stop();
    readiness.stop();
    await deadLetters?.close();
    await kafkaAccess?.admin.disconnect().catch(() => undefined);
    await kvStore?.close();
    await vectorStore?.close();
    log.info('drained, exiting');
    process.exit(0);
  }
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

run().catch((error: unknown) => {
  process.stderr.write(`soma: startup failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
