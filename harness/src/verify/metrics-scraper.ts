/**
 * Scrapes the API's Prometheus /metrics during a run and turns the counters
 * into per-interval rates for the report's timeline.
 * NOTE: only the API's endpoint is scraped. Consumer processes that run apart
 * from the API (the local target's kv-writer and vector-indexer) export their
 * write and lag metrics on ports the target endpoints do not name.
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

export interface ServerMetricsSeries {
  source: string;
  points: ServerMetricsPoint[];
  /** Scrapes that failed, with the last error. */
  failures: number;
  lastError?: string;
  /** Metric names seen in the last successful scrape that start with soma_. */
  somaMetrics: string[];
}

export interface MetricsScraper {
  start(): void;
  stop(): Promise<ServerMetricsSeries>;
}

function rate(current: Map<string, number>, previous: Map<string, number>, name: string, seconds: number): number | null {
  const now = current.get(name);
  const before = previous.get(name);
  if (now === undefined || before === undefined || seconds <= 0) return null;
  return Math.max(0, now - before) / seconds;
}

/** Builds one point from two consecutive scrapes `seconds` apart. */
export function derivePoint(tMs: number, current: Map<string, number>, previous: Map<string, number>, seconds: number): ServerMetricsPoint {
  const requests = rate(current, previous, 'soma_http_request_duration_seconds_count', seconds);
  const durationSum = rate(current, previous, 'soma_http_request_duration_seconds_sum', seconds);
  const round = (value: number | null, digits = 3) => (value === null ? null : Math.round(value * 10 ** digits) / 10 ** digits);
  const memory = current.get('process_resident_memory_bytes');
  return {
    tMs,
    acceptedPerSecond: round(rate(current, previous, 'soma_items_accepted_total', seconds), 1),
    requestsPerSecond: round(requests, 2),
    requestMeanMs: requests && durationSum !== null ? round((durationSum / requests) * 1000, 2) : null,
    cpuCores: round(rate(current, previous, 'process_cpu_seconds_total', seconds)),
    residentMemoryMb: memory === undefined ? null : round(memory / 1_048_576, 1),
    consumerLag: current.get('soma_consumer_lag') ?? null,
  };
}

/** Scrapes `${apiUrl}/metrics` every `intervalMs` from start() to stop(). */
export function createMetricsScraper(apiUrl: string, runStartMs: number, intervalMs = 1000): MetricsScraper {
  const source = `${apiUrl.replace(/\/+$/, '')}/metrics`;
  const series: ServerMetricsSeries = { source, points: [], failures: 0, somaMetrics: [] };
  let previous: { atMs: number; values: Map<string, number> } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;

  const scrape = async () => {
    try {
      const response = await fetch(source, { signal: AbortSignal.timeout(Math.max(1000, intervalMs)) });
      if (!response.ok) throw new Error(`GET /metrics returned HTTP ${response.status}`);
      const atMs = Date.now();
      const values = parsePrometheusText(await response.text());
      series.somaMetrics = [...values.keys()].filter((name) => name.startsWith('soma_')).sort();
      if (previous) series.points.push(derivePoint(Math.round(atMs - runStartMs), values, previous.values, (atMs - previous.atMs) / 1000));
      previous = { atMs, values };
    } catch (error) {
      series.failures += 1;
      series.lastError = error instanceof Error ? error.message : String(error);
    }
  };

  return {
    start() {
      inFlight = scrape();
      timer = setInterval(() => {
        inFlight = (inFlight ?? Promise.resolve()).then(scrape);
      }, intervalMs);
    },
    async stop() {
      if (timer) clearInterval(timer);
      await inFlight;
      await scrape();
      return series;
    },
  };
}
