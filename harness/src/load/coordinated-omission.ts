/**
 * Coordinated omission: a load generator that waits for a response before it
 * sends the next request stops sending while the server stalls, so the
 * requests that a fixed arrival rate would have sent during the stall are
 * never measured and the percentiles hide the stall. Two corrections exist:
 *
 * - When each request has an intended send time (a schedule), measure latency
 *   from that time instead of the actual send time.
 * - When only the expected interval between requests of one connection is
 *   known, add the samples that the missing requests would have produced:
 *   for a latency L and interval I, also record L - I, L - 2I, ... down to I
 *   (HdrHistogram's recordValueWithExpectedInterval).
 *
 * How each engine applies them is stated in ENGINE_LATENCY_NOTES and
 * docs/benchmarks.md.
 */
import type { Histogram } from './latency.js';

/** Records `latencyMs` and the samples of the requests a stall held back, given the expected interval between requests of one connection. */
export function recordCorrectedLatencyMs(histogram: Histogram, latencyMs: number, expectedIntervalMs: number): void {
  const value = Math.max(1, Math.round(latencyMs * 1000));
  const interval = Math.round(expectedIntervalMs * 1000);
  if (interval <= 0) {
    histogram.recordValue(value);
    return;
  }
  histogram.recordValueWithExpectedInterval(value, interval);
}

/** Latency measured from the intended send time: never below the measured service time. */
export function latencyFromIntendedStartMs(intendedStartMs: number, sentAtMs: number, respondedAtMs: number): number {
  return Math.max(respondedAtMs - sentAtMs, respondedAtMs - intendedStartMs);
}

/** Expected interval between two requests of one connection, in milliseconds, for a rate in requests per second. */
export function expectedIntervalMs(requestsPerSecondPerConnection: number): number {
  return requestsPerSecondPerConnection > 0 ? 1000 / requestsPerSecondPerConnection : 0;
}

/** How each engine measures latency, for the report's notes and the docs. */
export const ENGINE_LATENCY_NOTES = {
  autocannonOpen:
    'autocannon without a rate: each connection sends its next request when the previous response arrived (a closed model), ' +
    'so latency is the service time of each request and no arrival rate is promised; a server stall shows only in the max.',
  autocannonFixedRate:
    'autocannon with a fixed rate: latency is measured from the actual send time and corrected for coordinated omission by the harness ' +
    '(HdrHistogram recordValueWithExpectedInterval with the expected interval of one connection, 1000 / (rate per connection) ms). ' +
    "autocannon's own correction is not used because autocannon 9 passes Math.ceil(1 / rate), which is 1 ms for any rate of 1 request/s or more.",
  k6ArrivalRate:
    'k6 arrival-rate executor: k6 starts iterations on schedule whether or not earlier ones finished, so http_req_duration has no coordinated omission ' +
    'while VUs are free; when none is free k6 drops the iteration and counts it in dropped_iterations, which the harness reads to judge the run.',
  k6ClosedModel:
    'k6 VU-based executor: each VU waits for its response before the next iteration (a closed model), so no arrival rate is promised and latency is the service time.',
} as const;
