/**
 * Stops kafkajs 2.2.4's idle timer loop. Its RequestQueue re-arms a timer
 * after every check for pending requests, also when nothing is pending and
 * no throttle runs. The delay is then negative, so Node.js fires it after
 * 1 ms, and every broker connection runs about a thousand timer callbacks a
 * second for as long as it is open (https://github.com/tulios/kafkajs/issues/1556,
 * unfixed in 2.2.4, the latest release).
 *
 * installRequestQueueTimerFix replaces RequestQueue#scheduleCheckPendingRequests
 * with one that arms the timer only while a request waits or a broker throttle
 * runs, because in every other case the check finds nothing to send. Requests
 * that complete or time out still check the queue themselves, as before.
 */
import { createRequire } from 'node:module';

/** The kafkajs release whose RequestQueue this replacement was written and tested against. */
export const PATCHED_KAFKAJS_VERSION = '2.2.4';
/** Delay of a check while a request waits without a throttle; kafkajs's CHECK_PENDING_REQUESTS_INTERVAL. */
export const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10;

interface RequestQueue {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

const require = createRequire(import.meta.url);
let installed = false;

function scheduleCheckPendingRequests(this: RequestQueue): void {
  if (this.throttleCheckTimeoutId) return;
  const throttleMs = this.throttledUntil - Date.now();
  if (this.pending.length === 0 && throttleMs <= 0) return;
  this.throttleCheckTimeoutId = setTimeout(
    () => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    },
    throttleMs > 0 ? throttleMs : CHECK_PENDING_REQUESTS_INTERVAL_MS,
  );
}

/**
 * Installs the replacement once per process. Returns false and changes
 * nothing when the installed kafkajs is another version, whose RequestQueue
 * may differ.
 */
export function installRequestQueueTimerFix(): boolean {
  if (installed) return true;
  const { version } = require('kafkajs/package.json') as { version: string };
  if (version !== PATCHED_KAFKAJS_VERSION) return false;
  const RequestQueueClass = require('kafkajs/src/network/requestQueue/index.js') as { prototype: RequestQueue };
  RequestQueueClass.prototype.scheduleCheckPendingRequests = scheduleCheckPendingRequests;
  installed = true;
  return true;
}
