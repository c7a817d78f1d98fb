/** The replacement of kafkajs's RequestQueue#scheduleCheckPendingRequests. */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
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

test('pending request is still checked after the fix', (t) => {
  installRequestQueueTimerFix();
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const queue = newQueue();
  const checks = countChecks(queue);
  queue.pending.push({});
  queue.scheduleCheckPendingRequests();
  t.mock.timers.tick(CHECK_PENDING_REQUESTS_INTERVAL_MS - 1);
  assert.equal(checks.count, 0);
  t.mock.timers.tick(1);
  assert.equal(checks.count, 1);
});

test('throttle end is still checked after the fix', (t) => {
  installRequestQueueTimerFix();
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const queue = newQueue();
  const checks = countChecks(queue);
  queue.throttledUntil = Date.now() + 500;
  queue.scheduleCheckPendingRequests();
  t.mock.timers.tick(499);
  assert.equal(checks.count, 0);
  t.mock.timers.tick(1);
  assert.equal(checks.count, 1);
});
