/**
 * Builds the fastify instance of the service from its collaborators. It opens
 * no connection and reads no environment; main.ts does both, and tests call
 * buildApp with real clients and use inject() or listen().
 */
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { ServiceConfig } from './config.js';
import type { Embedder } from './embedding/embedder.js';
import type { IngestSink } from './ingest-sink.js';
import type { Metrics } from './metrics.js';
import type { Readiness } from './readiness.js';
import { somaError } from './errors.js';
import { registerAuth } from './routes/auth.js';
import {
  buildClientErrorHandler,
  handleFrameworkError,
  MAX_PARAM_LENGTH,
  registerErrorHandlers,
  requestPath,
  sentErrorCode,
} from './routes/error-handler.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerJsonBodyParser } from './routes/json-body-parser.js';
import { registerMemoriesRoute } from './routes/memories.js';
import { registerRecallRoute } from './routes/recall.js';
import { registerStoreRoutes } from './routes/store.js';
import type { KvStore } from './stores/postgres-kv-store.js';
import type { VectorStore } from './stores/qdrant-vector-store.js';

export interface AppOptions {
  config: Readonly<ServiceConfig>;
  log: Logger;
  metrics: Metrics;
  readiness: Readiness;
  embedder: Embedder;
  /** Destination of store requests; without it the app serves only health, readiness and metrics (the consumer role). */
  sink?: IngestSink | undefined;
  kvStore?: KvStore | undefined;
  vectorStore?: VectorStore | undefined;
  /** Clock in epoch milliseconds, for item timestamps. */
  now?: () => number;
  /** Time in ms to receive a whole request, headers and body; DEFAULT_REQUEST_TIMEOUT_MS when unset. */
  requestTimeoutMs?: number;
}

/**
 * Time to receive a whole request. A client that stalls in the middle of its
 * body gets 408 SOMA_ERR_HTTP_REQUEST_TIMEOUT after this, instead of holding
 * the connection open. A body of SOMA_MAX_BODY_BYTES (8 MiB by default) needs
 * about 2.2 Mbit/s to arrive in time.
 */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/**
 * Returns how often Node's HTTP server checks requests against the request
 * timeout. Node's default of 30 s would let a stalled request live up to twice
 * the timeout. The check walks the open connections, so it is cheap.
 */
function connectionsCheckingInterval(requestTimeoutMs: number): number {
  return Math.max(100, Math.min(1_000, Math.floor(requestTimeoutMs / 4)));
}

function registerRequestMetrics(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const labels = { route, method: request.method, status_code: String(reply.statusCode) };
    metrics.httpRequestDuration.observe(labels, reply.elapsedTime / 1000);
    const fields = { method: request.method, url: requestPath(request), statusCode: reply.statusCode, responseTime: reply.elapsedTime };
    const code = sentErrorCode(request);
    request.log.info(code === undefined ? fields : { ...fields, code }, 'request completed');
  });
}

export function buildApp(options: AppOptions): FastifyInstance {
  const { config, log, metrics, readiness, embedder } = options;
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const app = Fastify({
    loggerInstance: log,
    // One 'request completed' line per request comes from registerRequestMetrics instead.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.maxBodyBytes,
    // The onRequest hook below replies to requests that arrive during close()
    // with SOMA_ERR_SERVICE_DRAINING and Retry-After instead of fastify's plain 503.
    return503OnClosing: false,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: handleFrameworkError,
    requestTimeout: requestTimeoutMs,
    // With Node.js 20 a stalled body got its 408 only after the headers timeout had passed too
    // (measured), and fastify leaves headersTimeout at 60 s, so both timeouts are set here.
    http: {
      requestTimeout: requestTimeoutMs,
      headersTimeout: Math.min(60_000, requestTimeoutMs),
      connectionsCheckingInterval: connectionsCheckingInterval(requestTimeoutMs),
    },
    clientErrorHandler: buildClientErrorHandler(requestTimeoutMs),
    // Validation never rewrites request data; the store routes validate with their own ajv.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false } },
  }) as unknown as FastifyInstance;

  registerErrorHandlers(app, config.maxBodyBytes);
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async () => {
    if (closing) throw somaError('SOMA_ERR_SERVICE_DRAINING', {});
  });
  registerJsonBodyParser(app, config.maxBodyBytes);
  registerRequestMetrics(app, metrics);
  registerAuth(app, config.apiToken);

  // While draining, every response closes its connection. Otherwise a
  // keep-alive connection that was busy when the drain began stays open
  // (fastify's keepAliveTimeout is 72 s) and app.close() waits for it.
  //
  // A reply sent before the request body arrived completely (401, 403, 415,
  // an early 413) closes the connection too. Otherwise Node's server would
  // keep waiting for the rest of the body on that connection, and a client
  // that stopped sending would get a second response, the 408, later.
  app.addHook('onSend', async (request, reply) => {
    if (readiness.isDraining() || !request.raw.complete) reply.header('connection', 'close');
  });
  registerHealthRoutes(app, { readiness, metrics });

  if (options.sink !== undefined) {
    registerStoreRoutes(app, {
      sink: options.sink,
      readiness,
      metrics,
      defaultNamespace: config.defaultNamespace,
      maxBulkItems: config.maxBulkItems,
      maxTextLength: config.maxTextLength,
      ...(options.now === undefined ? {} : { now: options.now }),
    });
    registerRecallRoute(app, {
      vectorStore: options.vectorStore,
      embedder,
      defaultNamespace: config.defaultNamespace,
      maxTextLength: config.maxTextLength,
    });
    registerMemoriesRoute(app, { kvStore: options.kvStore });
  }
  return app;
}
