/**
 * Shim of the k6 module for the k6 stand-in: check, group, fail and sleep.
 * Here sleep blocks the whole process, while k6 blocks only the VU, so every
 * VU pauses while one sleeps. The harness's scripts sleep only between retries.
 */
import { runtime, type Tags } from '../runtime.js';

const sleepCell = new Int32Array(new SharedArrayBuffer(4));

export function sleep(seconds: number): void {
  if (seconds > 0) Atomics.wait(sleepCell, 0, 0, seconds * 1000);
}

export function check<T>(value: T, checks: Record<string, (value: T) => boolean>, tags: Tags = {}): boolean {
  let all = true;
  for (const [name, predicate] of Object.entries(checks)) {
    const passed = predicate(value) === true;
    runtime.emit('checks', 'rate', passed ? 1 : 0, { ...tags, check: name });
    all &&= passed;
  }
  return all;
}

export function group<T>(name: string, body: () => T): T {
  void name;
  return body();
}

export function fail(message?: string): never {
  throw new Error(message ?? 'fail() was called');
}

export default { sleep, check, group, fail };
