/**
 * A typed, hand-made run summary for report tests: rendering, JUnit and the
 * schema check run on it without a live target. The type checker keeps it in
 * step with summary.ts; the schema test keeps both in step with
 * schemas/report.schema.json.
 */
import { createLatencyHistogram, recordLatencyMs, summarizeLatency } from '../load/latency.js';
import type { ConsumerMetricsPoint } from '../verify/metrics-scraper.js';
import type { RunSummary, ScenarioSummary } from './summary.js';

function latency(values: number[]) {
  const histogram = createLatencyHistogram();
  for (const value of values) recordLatencyMs(histogram, value);
  return summarizeLatency(histogram);
}

/** Builds one interval of a consumer's /metrics; unnamed figures are null, lag 40 messages. */
function consumerPoint(tMs: number, figures: Partial<ConsumerMetricsPoint>): ConsumerMetricsPoint {
  return {
    tMs,
    messagesPerSecond: null,
    batchesPerSecond: 4,
    meanBatchSize: null,
    batchMeanMs: 9.5,
    postgresWritesPerSecond: figures.postgresWriteMeanMs === undefined ? null : 4,
    postgresWriteMeanMs: null,
    qdrantWritesPerSecond: figures.qdrantWriteMeanMs === undefined ? null : 4,
    qdrantWriteMeanMs: null,
    writeFailuresPerSecond: 0,
    consumerLag: 40,
    cpuCores: 0.3,
    residentMemoryMb: 110,
    ...figures,
  };
}

/** Builds a passing scenario with 1000 items, two stores and lag that drained. */
export function sampleScenario(name = 'bulk-1000'): ScenarioSummary {
  const runId = `${name}-20261204t120000z-abcd`;
  const where = 'SELECT count(*)::bigint AS count FROM public.kv_store WHERE run_id = $1';
  return {
    name,
    description: 'fixture',
    file: 'scenarios/default.yaml',
    runId,
    namespace: 'api_ns',
    startedAt: '2026-12-04T12:00:00.000Z',
    durationMs: 4200,
    verdict: 'passed',
    exitCode: 0,
    reasons: [],
    invalidReasons: [],
    settings: {
      load: {
        engine: 'chunked',
        items: 1000,
        chunkSize: 100,
        concurrency: 2,
        seed: '1000',
        shapes: { flat: 3, coord: 1 },
        invalidItems: 0,
        textLength: { min: 32, max: 256 },
        retry: { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 2000 },
        requestTimeoutMs: 30000,
        options: {},
      },
      verify: { stores: ['postgres', 'qdrant'], lag: true, timeoutMs: 60000, pollIntervalMs: 250, settleMs: 2000, markers: 2000 },
      thresholds: { latencyP99Ms: 5000, minItemsPerSecond: 50 },
      validity: { maxHarnessCpu: 0.9, minAcknowledgedItems: 10 },
      actions: [],
    },
    load: {
      engine: 'chunked',
      mode: 'evented',
      startOffsetMs: 5,
      durationMs: 2600,
      items: { planned: 1000, sent: 1000, acknowledged: 1000, rejected: 0, failed: 0, notSent: 0 },
      requests: { total: 10, succeeded: 10, retried: 0, networkErrors: 0, byStatus: { '202': 10 } },
      latency: latency([80, 95, 110, 120, 140, 150, 160, 180, 240, 376]),
      throughput: [
        { tMs: 5, acknowledgedItems: 400, rejectedItems: 0, failedItems: 0, requests: 4, errors: 0, retries: 0, latencyMeanMs: 120, latencyMaxMs: 150 },
        { tMs: 1005, acknowledgedItems: 400, rejectedItems: 0, failedItems: 0, requests: 4, errors: 0, retries: 0, latencyMeanMs: 160, latencyMaxMs: 240 },
        { tMs: 2005, acknowledgedItems: 200, rejectedItems: 0, failedItems: 0, requests: 2, errors: 0, retries: 0, latencyMeanMs: 300, latencyMaxMs: 376 },
      ],
      chunks: [],
      rejectedSample: [],
      failedSample: [],
      notes: ['fixture note'],
    },
    actions: [],
    verification: {
      status: 'converged',
      pollMs: 600,
      polls: 14,
      expectedItems: 1000,
      counts: [
        { store: 'postgres', expected: 1000, found: 1000, where, plan: 'Aggregate > Bitmap Heap Scan on kv_store > Bitmap Index Scan using kv_store_run_id_idx' },
        { store: 'qdrant', expected: 1000, found: 1000, where: 'POST /collections/api_ns/points/count {"exact":true}' },
      ],
      countSeries: [
        { tMs: 0, acknowledged: 0, postgres: 0, qdrant: 0, lag: 0 },
        { tMs: 1000, acknowledged: 400, postgres: 300, qdrant: 250, lag: 150 },
        { tMs: 2000, acknowledged: 800, postgres: 700, qdrant: 650, lag: 150 },
        { tMs: 3200, acknowledged: 1000, postgres: 1000, qdrant: 1000, lag: 0 },
      ],
      lag: {
        checked: true,
        where: 'kafkajs admin fetchOffsets',
        summary: {
          samples: 4,
          peakTotal: 150,
          peakAtMs: 1000,
          peakByGroup: { 'soma-kv-writer': 70, 'soma-vector-indexer': 80 },
          drained: true,
          drainedAtMs: 3200,
          timeToDrainMs: 595,
          final: [
            { group: 'soma-kv-writer', total: 0, partitions: [{ partition: 0, committed: 1000, low: 0, high: 1000, lag: 0 }] },
            { group: 'soma-vector-indexer', total: 0, partitions: [{ partition: 0, committed: 1000, low: 0, high: 1000, lag: 0 }] },
          ],
        },
        series: [
          { tMs: 0, total: 0, byGroup: { 'soma-kv-writer': 0, 'soma-vector-indexer': 0 } },
          { tMs: 1000, total: 150, byGroup: { 'soma-kv-writer': 70, 'soma-vector-indexer': 80 } },
          { tMs: 2000, total: 150, byGroup: { 'soma-kv-writer': 70, 'soma-vector-indexer': 80 } },
          { tMs: 3200, total: 0, byGroup: { 'soma-kv-writer': 0, 'soma-vector-indexer': 0 } },
        ],
        errors: 0,
      },
      consistency: [
        { store: 'postgres', method: 'per-item', markers: 1000, visible: 1000, p50Ms: 269, p95Ms: 572.9, p99Ms: 600, maxMs: 610, resolutionMs: 250 },
        { store: 'qdrant', method: 'per-item', markers: 1000, visible: 1000, p50Ms: 319, p95Ms: 581.9, p99Ms: 759.5, maxMs: 770, resolutionMs: 250 },
      ],
      reconciliation: {
        acknowledged: 1000,
        stores: [
          { store: 'postgres', records: 1000, distinctIds: 1000, present: 1000, missing: 0, phantom: 0, duplicated: 0, payloadMismatch: 0, query: 'SELECT id ...' },
          { store: 'qdrant', records: 1000, distinctIds: 1000, present: 1000, missing: 0, phantom: 0, duplicated: 0, payloadMismatch: 0, query: 'POST scroll ...' },
        ],
        discrepancies: [],
        counts: { lost: 0, partial: 0, duplicated: 0, phantom: 0, 'payload-mismatch': 0 },
      },
      checks: [
        { name: 'postgres.count', status: 'passed', message: 'postgres holds 1000 items for the run, as acknowledged', evidence: { expected: 1000, found: 1000, where } },
        { name: 'items.lost', status: 'passed', message: 'no lost items', evidence: { expected: 0, found: 0, where: 'acknowledged ids vs stores' } },
      ],
      errors: [],
    },
    thresholds: [
      { name: 'latencyP99Ms', figure: 'latencyP99Ms', comparator: '<=', limit: 5000, measured: 376, status: 'passed', message: 'p99 latency 376 ms, limit <= 5000 ms' },
      { name: 'minItemsPerSecond', figure: 'acknowledgedItemsPerSecond', comparator: '>=', limit: 50, measured: 384.6, status: 'passed', message: 'acknowledged items per second 384.6 items/s, limit >= 50 items/s' },
    ],
    figures: { latencyP50Ms: 140, latencyP99Ms: 376, acknowledgedItemsPerSecond: 384.6, consistencyP99Ms: 759.5, lagDrainMs: 595, harnessCpuCores: 0.2 },
    harness: {
      meanCores: 0.2,
      maxCores: 0.35,
      maxEventLoopDelayP99Ms: 12.5,
      wallMs: 2700,
      cpuMs: 540,
      samples: [
        { tMs: 500, cores: 0.1, eventLoopDelayP99Ms: 10.5 },
        { tMs: 1000, cores: 0.35, eventLoopDelayP99Ms: 12.5 },
        { tMs: 1500, cores: 0.2, eventLoopDelayP99Ms: 11 },
      ],
    },
    server: {
      source: 'http://127.0.0.1:9595/metrics',
      points: [
        { tMs: 500, acceptedPerSecond: 300, requestsPerSecond: 6, requestMeanMs: 110, cpuCores: 0.4, residentMemoryMb: 120, consumerLag: 0 },
        { tMs: 1000, acceptedPerSecond: 420, requestsPerSecond: 8, requestMeanMs: 130, cpuCores: 0.6, residentMemoryMb: 122, consumerLag: 0 },
        { tMs: 1500, acceptedPerSecond: 380, requestsPerSecond: 8, requestMeanMs: 140, cpuCores: 0.5, residentMemoryMb: 123, consumerLag: 0 },
      ],
      failures: 0,
      somaMetrics: ['soma_items_accepted_total'],
    },
    consumers: [
      {
        component: 'kv-writer',
        source: 'http://127.0.0.1:9596/metrics',
        points: [
          consumerPoint(500, { messagesPerSecond: 280, meanBatchSize: 70, postgresWriteMeanMs: 4.5 }),
          consumerPoint(1000, { messagesPerSecond: 410, meanBatchSize: 102.5, postgresWriteMeanMs: 6.25 }),
          consumerPoint(1500, { messagesPerSecond: 390, meanBatchSize: 97.5, postgresWriteMeanMs: 5 }),
        ],
        failures: 0,
        somaMetrics: ['soma_consumer_batch_size', 'soma_postgres_write_duration_seconds'],
      },
      {
        component: 'vector-indexer',
        source: 'http://127.0.0.1:9597/metrics',
        points: [
          consumerPoint(500, { messagesPerSecond: 250, meanBatchSize: 62.5, qdrantWriteMeanMs: 12 }),
          consumerPoint(1000, { messagesPerSecond: 400, meanBatchSize: 100, qdrantWriteMeanMs: 17.5 }),
          consumerPoint(1500, { messagesPerSecond: 350, meanBatchSize: 87.5, qdrantWriteMeanMs: 15 }),
        ],
        failures: 0,
        somaMetrics: ['soma_consumer_batch_size', 'soma_qdrant_write_duration_seconds'],
      },
    ],
    acknowledgedFile: `acks/${name}.ndjson`,
  };
}

/** Builds a run of the given scenarios (one passing scenario by default). */
export function sampleSummary(scenarios: ScenarioSummary[] = [sampleScenario()]): RunSummary {
  return {
    formatVersion: 1,
    tool: 'soma-harness',
    suite: 'default',
    description: 'fixture suite',
    files: ['scenarios/default.yaml'],
    startedAt: '2026-12-04T12:00:00.000Z',
    endedAt: '2026-12-04T12:00:05.000Z',
    durationMs: 5000,
    verdict: 'passed',
    exitCode: 0,
    reasons: [],
    environment: {
      target: 'local',
      apiUrl: 'http://127.0.0.1:9595',
      postgres: 'postgresql://postgres:***@127.0.0.1:5432/postgres',
      qdrantUrl: 'http://127.0.0.1:6333',
      kafkaBrokers: ['127.0.0.1:9092'],
      topic: 'memory.events',
      consumerGroups: ['soma-kv-writer', 'soma-vector-indexer'],
      defaultNamespace: 'api_ns',
      harnessVersion: '0.1.0',
      nodeVersion: 'v20.20.2',
      platform: 'linux 6.1',
      cpus: 2,
      gitSha: '0123456789abcdef0123456789abcdef01234567',
      gitDirty: false,
      backendVersions: { postgres: '15.8', qdrant: 'soma qdrant-edge stand-in (qdrant-edge-py 0.9.0), a stand-in that speaks the REST API of qdrant - vector search engine 1.19.0' },
      standIns: { qdrant: 'soma qdrant-edge stand-in (qdrant-edge-py 0.9.0)' },
      command: 'soma-harness run default',
    },
    scenarios,
    logs: ['logs/api.log'],
  };
}
