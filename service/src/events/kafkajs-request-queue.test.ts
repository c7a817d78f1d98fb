/** The replacement of kafkajs's RequestQueue#scheduleCheckPendingRequests. */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test, type TestContext } from 'node:test';
import { CHECK_PENDING_REQUESTS_INTERVAL_MS, installRequestQueueTimerFix } from './kafkajs-request-queue.js';

interface Queue {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
  destroy(): void;
}

const require = createRequire(import.meta.url);
const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as new (options: object) => Queue;
const originalSchedule = RequestQueue.prototype.scheduleCheckPendingRequests;
const silentLogger = { debug: () => undefined, warn: () => undefined, info: () => undefined, error: () => undefined };

function newQueue(): Queue {
  return new RequestQueue({ maxInFlightRequests: 1, requestTimeout: 1000, enforceRequestTimeout: false, clientId: 'test', broker: 'b', logger: silentLogger });
}

/** Counts the queue's checks instead of running them. */
function countChecks(queue: Queue): { count: number } {
  const checks = { count: 0 };
  queue.checkPendingRequests = () => {
    checks.count += 1;
  };
  return checks;
}

test('kafkajs 2.2.4 arms a timer with nothing pending', () => {
  const queue = newQueue();
  originalSchedule.call(queue);
  assert.notEqual(queue.throttleCheckTimeoutId, null, 'the loop this module stops');
  queue.destroy();
});

test('idle queue arms no timer after the fix', () => {
  assert.equal(installRequestQueueTimerFix(), true);
  const queue = newQueue();
  queue.scheduleCheckPendingRequests();
  assert.equal(queue.throttleCheckTimeoutId, null);
});

/**
 * Replaces the global setTimeout for one test with one that records each
 * timer instead of arming it, so the test reads the delay and fires the
 * callback itself. MockTimers would do the same, but Node.js 20 prints an
 * ExperimentalWarning for it.
 */
function recordTimers(t: TestContext): Array<{ callback: () => void; delayMs: number | undefined }> {
  const timers: Array<{ callback: () => void; delayMs: number | undefined }> = [];
  t.mock.method(globalThis, 'setTimeout', (callback: () => void, delayMs?: number) => {
    timers.push({ callback, delayMs });
    return { ref: () => undefined, unref: () => undefined } as unknown as NodeJS.Timeout;
  });
  return timers;
}

test('pending request is still checked after the fix', (t) => {
  installRequestQueueTimerFix();
  const timers = recordTimers(t);
  const queue = newQueue();
  const checks = countChecks(queue);
  queue.pending.push({});
  queue.scheduleCheckPendingRequests();
  assert.equal(timers.length, 1, 'one timer is armed');
  assert.equal(timers[0]?.delayMs, CHECK_PENDING_REQUESTS_INTERVAL_MS);
  assert.equal(checks.count, 0, 'no check before the timer fires');
  timers[0]?.callback();
  assert.equal(checks.count, 1);
  assert.equal(queue.throttleCheckTimeoutId, null, 'the fired timer is cleared');
});

test('throttle end is still checked after the fix', (t) => {
  installRequestQueueTimerFix();
  const timers = recordTimers(t);
  const now = 1_700_000_000_000;
  t.mock.method(Date, 'now', () => now);
  const queue = newQueue();
  const checks = countChecks(queue);
  queue.throttledUntil = now + 500;
  queue.scheduleCheckPendingRequests();
  assert.equal(timers.length, 1, 'one timer is armed');
  assert.equal(timers[0]?.delayMs, 500, 'the timer ends with the throttle');
  assert.equal(checks.count, 0, 'no check before the timer fires');
  timers[0]?.callback();
  assert.equal(checks.count, 1);
});
