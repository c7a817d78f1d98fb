/**
 * Latency recording in HDR histograms (microsecond resolution, 3 significant
 * digits) and the summary that reports and thresholds read.
 */
import * as hdr from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';

export type { Histogram };

/** Percentile points of the latency distribution chart. */
export const DISTRIBUTION_PERCENTILES = [
  0, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 92.5, 95, 97.5, 99, 99.5, 99.9, 99.99, 100,
];

export interface LatencySummary {
  count: number;
  minMs: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p95Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  /** [percentile, milliseconds] pairs for the distribution chart. */
  distribution: [number, number][];
  /** The histogram itself, HdrHistogram compressed base64 (values in microseconds). */
  encoded: string;
}

/** Creates a histogram that records microseconds up to one hour and grows if needed. */
export function createLatencyHistogram(): Histogram {
  return hdr.build({
    bitBucketSize: 32,
    autoResize: true,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  });
}

/** Records one latency given in milliseconds. */
export function recordLatencyMs(histogram: Histogram, ms: number): void {
  histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
}

function toMs(microseconds: number): number {
  return Math.round(microseconds) / 1000;
}

/** Summarises a histogram in milliseconds; all figures are 0 when nothing was recorded. */
export function summarizeLatency(histogram: Histogram): LatencySummary {
  const count = histogram.totalCount;
  const maxMs = count === 0 ? 0 : toMs(histogram.maxValue);
  // getValueAtPercentile returns the top of the value's bucket, which can exceed the recorded maximum.
  const at = (percentile: number) => (count === 0 ? 0 : Math.min(maxMs, toMs(histogram.getValueAtPercentile(percentile))));
  return {
    count,
    minMs: count === 0 ? 0 : toMs(histogram.minNonZeroValue),
    meanMs: count === 0 ? 0 : Math.round(histogram.mean) / 1000,
    p50Ms: at(50),
    p90Ms: at(90),
    p95Ms: at(95),
    p99Ms: at(99),
    p999Ms: at(99.9),
    maxMs,
    distribution: count === 0 ? [] : DISTRIBUTION_PERCENTILES.map((percentile) => [percentile, at(percentile)]),
    encoded: hdr.encodeIntoCompressedBase64(histogram),
  };
}

/** Rebuilds a histogram from `LatencySummary.encoded`. */
export function decodeLatencyHistogram(encoded: string): Histogram {
  return hdr.decodeFromCompressedBase64(encoded, 32, false);
}

/** Nearest-rank percentile of plain numbers (for small samples such as time to consistency). */
export function percentileOf(sortedValues: readonly number[], percentile: number): number {
  if (sortedValues.length === 0) return 0;
  const rank = Math.ceil((percentile / 100) * sortedValues.length);
  return sortedValues[Math.min(sortedValues.length, Math.max(1, rank)) - 1] as number;
}
