/**
 * Builds the service app in the test process with real clients, the way
 * main.ts assembles it, for tests that use inject() or a real listen().
 */
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { buildApp } from '../../src/app.js';
import { loadConfig, type ServiceConfig } from '../../src/config.js';
import { createFeatureHashingEmbedder } from '../../src/embedding/feature-hashing.js';
import { createDirectSink } from '../../src/ingest-sink.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import { createReadiness, type Readiness } from '../../src/readiness.js';
import { createPostgresKvStore, type KvStore } from '../../src/stores/postgres-kv-store.js';
import { createQdrantVectorStore, type VectorStore } from '../../src/stores/qdrant-vector-store.js';
import type { BackendEndpoints } from '../../../test/support/backends.js';
import { uniqueName } from './backends.js';

/** Creates a pino logger that keeps its lines in memory, for assertions on log output. */
export function memoryLogger(): { log: Logger; lines: () => string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''));
      callback();
    },
  });
  return { log: pino({ level: 'debug' }, stream), lines: () => lines };
}

export interface DirectApp {
  app: FastifyInstance;
  url: string;
  config: Readonly<ServiceConfig>;
  namespace: string;
  kvStore: KvStore;
  vectorStore: VectorStore;
  readiness: Readiness;
  metrics: Metrics;
  logLines: () => string[];
  close(): Promise<void>;
}

/** Starts a direct-mode app (writes straight to Postgres and Qdrant) on a free loopback port. */
export async function startDirectApp(
  backends: BackendEndpoints,
  env: Record<string, string> = {},
  urls: { postgresUrl?: string; qdrantUrl?: string } = {},
): Promise<DirectApp> {
  const namespace = uniqueName('ns');
  const config = loadConfig({
    SOMA_EVENTING_ENABLED: 'false',
    SOMA_ROLE: 'api',
    SOMA_POSTGRES_URL: urls.postgresUrl ?? backends.postgresUrl,
    SOMA_QDRANT_URL: urls.qdrantUrl ?? backends.qdrantUrl,
    SOMA_DEFAULT_NAMESPACE: namespace,
    ...env,
  });
  const { log, lines } = memoryLogger();
  const metrics = createMetrics({ collectDefaults: false });
  const embedder = createFeatureHashingEmbedder(config.vectorSize);
  const kvStore = createPostgresKvStore({ connectionString: config.postgresUrl as string, log });
  const vectorStore = createQdrantVectorStore({ url: config.qdrantUrl as string, vectorSize: config.vectorSize, log });

  let schemaReady = false;
  const readiness = createReadiness({
    log,
    intervalMs: 300,
    probes: {
      postgres: async () => {
        if (schemaReady) await kvStore.ping();
        else await kvStore.ensureSchema();
        schemaReady = true;
        return 'ok';
      },
      qdrant: () => vectorStore.check(config.defaultNamespace),
    },
  });
  await readiness.refresh();
  readiness.start();

  const sink = createDirectSink({ kvStore, vectorStore, embedder, metrics, readiness });
  const app = buildApp({ config, log, metrics, readiness, embedder, sink, kvStore, vectorStore });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });

  return {
    app,
    url,
    config,
    namespace: config.defaultNamespace,
    kvStore,
    vectorStore,
    readiness,
    metrics,
    logLines: lines,
    async close() {
      readiness.stop();
      await app.close();
      await kvStore.close().catch(() => undefined);
    },
  };
}
