import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTrigger } from '../scenario/normalize.js';
import type { ActionSpec } from '../scenario/types.js';
import { createActionScheduler } from './actions.js';
import type { LoadProgress } from './types.js';

function action(at: string, name: string, wait = false): ActionSpec {
  const trigger = parseTrigger(at);
  assert.ok(trigger, `trigger ${at}`);
  return { at, trigger, action: name, params: {}, wait };
}

function progress(completed: number, totalItems = 100): LoadProgress {
  return { totalItems, sentItems: completed, acknowledgedItems: completed, rejectedItems: 0, failedItems: 0, retries: 0, elapsedMs: 0 };
}

test('percent actions start when the share of items completed reaches them', async () => {
  const started: string[] = [];
  const scheduler = createActionScheduler([action('0%', 'first'), action('50%', 'half'), action('100%', 'end')], async (spec) => {
    started.push(spec.action);
  }, { signal: new AbortController().signal });
  await scheduler.start(100);
  assert.deepEqual(started, ['first']);
  scheduler.hooks.onProgress(progress(40));
  assert.deepEqual(started, ['first']);
  scheduler.hooks.onProgress(progress(50));
  assert.deepEqual(started, ['first', 'half']);
  const records = await scheduler.finish(progress(100));
  assert.deepEqual(started, ['first', 'half', 'end']);
  assert.deepEqual(records.map((record) => record.status), ['done', 'done', 'done']);
});

test('action with wait holds the next request until it finished', async () => {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolvePromise) => {
    release = resolvePromise;
  });
  const scheduler = createActionScheduler([action('10%', 'slow', true)], () => gate, { signal: new AbortController().signal });
  await scheduler.start(100);
  let passed = false;
  const waiting = Promise.resolve(scheduler.hooks.beforeRequest(progress(10))).then(() => {
    passed = true;
  });
  await new Promise((resolvePromise) => setTimeout(resolvePromise, 20));
  assert.equal(passed, false, 'the request waits for the action');
  release();
  await waiting;
  assert.equal(passed, true);
});

test('failed action is recorded with its error', async () => {
  const scheduler = createActionScheduler([action('0%', 'broken')], async () => {
    throw new Error('component "nope" not found');
  }, { signal: new AbortController().signal });
  await scheduler.start(10);
  const [record] = await scheduler.finish(progress(10, 10));
  assert.equal(record?.status, 'failed');
  assert.equal(record?.error, 'component "nope" not found');
});

test('elapsed action starts on its timer', async () => {
  const started: string[] = [];
  const scheduler = createActionScheduler([action('20ms', 'timed')], async (spec) => {
    started.push(spec.action);
  }, { signal: new AbortController().signal });
  await scheduler.start(10);
  await new Promise((resolvePromise) => setTimeout(resolvePromise, 60));
  assert.deepEqual(started, ['timed']);
  const [record] = await scheduler.finish(progress(10, 10));
  assert.equal(record?.status, 'done');
  assert.ok((record?.startedMs ?? 0) >= 15, `started at ${record?.startedMs} ms`);
});

test('actions the load never reached are skipped with the reason', async () => {
  const scheduler = createActionScheduler([action('10s', 'late'), action('80%', 'far')], async () => {}, {
    signal: new AbortController().signal,
  });
  await scheduler.start(100);
  const records = await scheduler.finish(progress(30));
  assert.deepEqual(records.map((record) => record.status), ['skipped', 'skipped']);
  assert.match(records[0]?.error ?? '', /^the load ended after \d+ ms, before the trigger time$/);
  assert.equal(records[1]?.error, 'the load ended with 30.0% of the items completed, before the trigger');
});
