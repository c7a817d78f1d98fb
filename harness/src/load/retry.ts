/**
 * Retry decisions for load requests: which failures are retried and how long
 * to wait before the next attempt.
 */
import type { RetryPolicy } from '../scenario/types.js';

/** 429 and every 5xx are retried; other statuses are final. */
export function isRetriableStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status <= 599);
}

/** Reads a Retry-After header given in seconds; HTTP dates and junk give undefined. */
export function parseRetryAfterMs(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || !/^[0-9]+(\.[0-9]+)?$/.test(value.trim())) return undefined;
  return Math.round(Number(value) * 1000);
}

/**
 * Returns the delay before the next attempt after attempt `attempt` (1-based)
 * failed. The cap grows exponentially from baseDelayMs up to maxDelayMs, and
 * the delay is uniform in [0, cap] (full jitter), so concurrent clients do not
 * retry in lockstep. A Retry-After from the server raises the delay to at
 * least that value, still capped at maxDelayMs.
 */
export function backoffDelayMs(
  attempt: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
  retryAfterMs?: number,
): number {
  const exponential = policy.baseDelayMs * 2 ** Math.max(0, attempt - 1);
  const cap = Math.min(policy.maxDelayMs, exponential);
  const jittered = Math.round(random() * cap);
  if (retryAfterMs === undefined) return jittered;
  return Math.min(policy.maxDelayMs, Math.max(jittered, retryAfterMs));
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolvePromise, rejectPromise) => {
    if (signal?.aborted) {
      rejectPromise(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolvePromise();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      rejectPromise(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
