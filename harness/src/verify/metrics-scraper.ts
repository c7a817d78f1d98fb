/**
 * Scrapes the Prometheus /metrics of every service process the target names
 * (TargetEndpoints.metricsUrls: the API and the consumers) during a run, and
 * turns the counters into per-interval rates for the report's timeline. The
 * API's series shows requests and accepted items; each consumer's series
 * shows its batches, store writes and lag.
 */

/** Sums of every series per metric name, from Prometheus text exposition format. */
export function parsePrometheusText(text: string): Map<string, number> {
  const sums = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.length === 0 || line.startsWith('#')) continue;
    const match = /^([A-Za-z_:][A-Za-z0-9_:]*)(\{.*\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const value = Number(match[3]);
    if (!Number.isFinite(value)) continue;
    const name = match[1] as string;
    sums.set(name, (sums.get(name) ?? 0) + value);
  }
  return sums;
}

/** Name of the API's entry in TargetEndpoints.metricsUrls; every other entry is a consumer. */
export const API_COMPONENT = 'api';

export interface ServerMetricsPoint {
  /** Milliseconds since the run started. */
  tMs: number;
  /** Items accepted per second (soma_items_accepted_total). */
  acceptedPerSecond: number | null;
  /** Requests per second (soma_http_request_duration_seconds_count). */
  requestsPerSecond: number | null;
  /** Mean request duration in the interval, ms. */
  requestMeanMs: number | null;
  /** CPU of the API process in cores (process_cpu_seconds_total). */
  cpuCores: number | null;
  residentMemoryMb: number | null;
  /** Sum of soma_consumer_lag over all series. */
  consumerLag: number | null;
}

/** One interval of a consumer process (kv-writer, vector-indexer). */
export interface ConsumerMetricsPoint {
  /** Milliseconds since the run started. */
  tMs: number;
  /** Messages consumed per second (sum of soma_consumer_batch_size). */
  messagesPerSecond: number | null;
  /** Batches per second (count of soma_consumer_batch_size). */
  batchesPerSecond: number | null;
  /** Mean messages per batch in the interval. */
  meanBatchSize: number | null;
  /** Mean time to decode, write and commit a batch in the interval, ms (soma_consumer_batch_duration_seconds). */
  batchMeanMs: number | null;
  /** kv_store upsert calls per second and their mean duration, ms (soma_postgres_write_duration_seconds). */
  postgresWritesPerSecond: number | null;
  postgresWriteMeanMs: number | null;
  /** Qdrant upsert calls per second and their mean duration, ms (soma_qdrant_write_duration_seconds). */
  qdrantWritesPerSecond: number | null;
  qdrantWriteMeanMs: number | null;
  /** Failed Postgres and Qdrant writes per second (soma_*_write_failures_total). */
  writeFailuresPerSecond: number | null;
  /** Sum of the process's soma_consumer_lag gauges, in messages. */
  consumerLag: number | null;
  /** CPU of the process in cores (process_cpu_seconds_total). */
  cpuCores: number | null;
  residentMemoryMb: number | null;
}

interface ScrapeState {
  source: string;
  /** Scrapes that failed, with the last error. */
  failures: number;
  lastError?: string;
  /** Metric names seen in the last successful scrape that start with soma_. */
  somaMetrics: string[];
}

export interface ServerMetricsSeries extends ScrapeState {
  points: ServerMetricsPoint[];
}

export interface ConsumerMetricsSeries extends ScrapeState {
  /** Component name from TargetEndpoints.metricsUrls, e.g. kv-writer. */
  component: string;
  points: ConsumerMetricsPoint[];
}

export interface ScrapedMetrics {
  /** The API's series; `source` is empty and `points` too when the target names no API metrics. */
  server: ServerMetricsSeries;
  consumers: ConsumerMetricsSeries[];
}

export interface MetricsScraper {
  start(): void;
  stop(): Promise<ScrapedMetrics>;
}

function rate(current: Map<string, number>, previous: Map<string, number>, name: string, seconds: number): number | null {
  const now = current.get(name);
  const before = previous.get(name);
  if (now === undefined || before === undefined || seconds <= 0) return null;
  return Math.max(0, now - before) / seconds;
}

function round(value: number | null, digits = 3): number | null {
  return value === null ? null : Math.round(value * 10 ** digits) / 10 ** digits;
}

/** Mean of a histogram over the interval (delta of _sum over delta of _count), scaled by `factor`; null without observations. */
function intervalMean(current: Map<string, number>, previous: Map<string, number>, histogram: string, factor: number): number | null {
  const count = rate(current, previous, `${histogram}_count`, 1);
  const sum = rate(current, previous, `${histogram}_sum`, 1);
  if (!count || sum === null) return null;
  return (sum / count) * factor;
}

function memoryMb(current: Map<string, number>): number | null {
  const memory = current.get('process_resident_memory_bytes');
  return memory === undefined ? null : round(memory / 1_048_576, 1);
}

/** Builds one point of the API from two consecutive scrapes `seconds` apart. */
export function derivePoint(tMs: number, current: Map<string, number>, previous: Map<string, number>, seconds: number): ServerMetricsPoint {
  const requests = rate(current, previous, 'soma_http_request_duration_seconds_count', seconds);
  const durationSum = rate(current, previous, 'soma_http_request_duration_seconds_sum', seconds);
  return {
    tMs,
    acceptedPerSecond: round(rate(current, previous, 'soma_items_accepted_total', seconds), 1),
    requestsPerSecond: round(requests, 2),
    requestMeanMs: requests && durationSum !== null ? round((durationSum / requests) * 1000, 2) : null,
    cpuCores: round(rate(current, previous, 'process_cpu_seconds_total', seconds)),
    residentMemoryMb: memoryMb(current),
    consumerLag: current.get('soma_consumer_lag') ?? null,
  };
}

/** Builds one point of a consumer process from two consecutive scrapes `seconds` apart. */
export function deriveConsumerPoint(tMs: number, current: Map<string, number>, previous: Map<string, number>, seconds: number): ConsumerMetricsPoint {
  const batches = rate(current, previous, 'soma_consumer_batch_size_count', seconds);
  const messages = rate(current, previous, 'soma_consumer_batch_size_sum', seconds);
  const postgresFailures = rate(current, previous, 'soma_postgres_write_failures_total', seconds);
  const qdrantFailures = rate(current, previous, 'soma_qdrant_write_failures_total', seconds);
  return {
    tMs,
    messagesPerSecond: round(messages, 1),
    batchesPerSecond: round(batches, 2),
    meanBatchSize: batches && messages !== null ? round(messages / batches, 1) : null,
    batchMeanMs: round(intervalMean(current, previous, 'soma_consumer_batch_duration_seconds', 1000), 2),
    postgresWritesPerSecond: round(rate(current, previous, 'soma_postgres_write_duration_seconds_count', seconds), 2),
    postgresWriteMeanMs: round(intervalMean(current, previous, 'soma_postgres_write_duration_seconds', 1000), 2),
    qdrantWritesPerSecond: round(rate(current, previous, 'soma_qdrant_write_duration_seconds_count', seconds), 2),
    qdrantWriteMeanMs: round(intervalMean(current, previous, 'soma_qdrant_write_duration_seconds', 1000), 2),
    writeFailuresPerSecond: postgresFailures === null && qdrantFailures === null ? null : round((postgresFailures ?? 0) + (qdrantFailures ?? 0), 2),
    consumerLag: current.get('soma_consumer_lag') ?? null,
    cpuCores: round(rate(current, previous, 'process_cpu_seconds_total', seconds)),
    residentMemoryMb: memoryMb(current),
  };
}

/** Scrapes one /metrics URL and derives a point per interval with `derive`. */
function createSourceScraper<Point>(
  source: string,
  runStartMs: number,
  timeoutMs: number,
  derive: (tMs: number, current: Map<string, number>, previous: Map<string, number>, seconds: number) => Point,
) {
  const state: ScrapeState & { points: Point[] } = { source, points: [], failures: 0, somaMetrics: [] };
  let previous: { atMs: number; values: Map<string, number> } | undefined;
  const scrape = async () => {
    try {
      const response = await fetch(source, { signal: AbortSignal.timeout(timeoutMs) });
      if (!response.ok) throw new Error(`GET ${source} returned HTTP ${response.status}`);
      const atMs = Date.now();
      const values = parsePrometheusText(await response.text());
      state.somaMetrics = [...values.keys()].filter((name) => name.startsWith('soma_')).sort();
      if (previous) state.points.push(derive(Math.round(atMs - runStartMs), values, previous.values, (atMs - previous.atMs) / 1000));
      previous = { atMs, values };
    } catch (error) {
      state.failures += 1;
      state.lastError = error instanceof Error ? error.message : String(error);
    }
  };
  return { state, scrape };
}

/**
 * Scrapes every URL of `metricsUrls` (component name to /metrics URL) every
 * `intervalMs` from start() to stop(). The entry named `api` gives the
 * server series; every other entry a consumer series.
 */
export function createMetricsScraper(metricsUrls: Record<string, string>, runStartMs: number, intervalMs = 1000): MetricsScraper {
  const timeoutMs = Math.max(1000, intervalMs);
  const apiUrl = metricsUrls[API_COMPONENT];
  const api = apiUrl === undefined ? undefined : createSourceScraper(apiUrl, runStartMs, timeoutMs, derivePoint);
  const consumers = Object.entries(metricsUrls)
    .filter(([component]) => component !== API_COMPONENT)
    .map(([component, url]) => ({ component, ...createSourceScraper(url, runStartMs, timeoutMs, deriveConsumerPoint) }));
  const scrapeAll = () => Promise.all([api?.scrape(), ...consumers.map((consumer) => consumer.scrape())]).then(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;

  return {
    start() {
      inFlight = scrapeAll();
      timer = setInterval(() => {
        inFlight = (inFlight ?? Promise.resolve()).then(scrapeAll);
      }, intervalMs);
    },
    async stop() {
      if (timer) clearInterval(timer);
      await inFlight;
      await scrapeAll();
      return {
        server: api?.state ?? { source: '', points: [], failures: 0, somaMetrics: [] },
        consumers: consumers.map(({ component, state }) => ({ component, ...state })),
      };
    },
  };
}

/** Returns the /metrics URLs of a target: its own list, else the API's /metrics derived from its URL. */
export function metricsUrlsOf(endpoints: { apiUrl: string; metricsUrls?: Record<string, string> }): Record<string, string> {
  if (endpoints.metricsUrls && Object.keys(endpoints.metricsUrls).length > 0) {
    return endpoints.metricsUrls[API_COMPONENT] !== undefined || !endpoints.apiUrl
      ? endpoints.metricsUrls
      : { [API_COMPONENT]: `${endpoints.apiUrl.replace(/\/+$/, '')}/metrics`, ...endpoints.metricsUrls };
  }
  return endpoints.apiUrl ? { [API_COMPONENT]: `${endpoints.apiUrl.replace(/\/+$/, '')}/metrics` } : {};
}
