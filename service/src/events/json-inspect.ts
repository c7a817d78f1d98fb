/**
 * Iterative checks over parsed JSON values. Iterative, not recursive, so a
 * value nested 10,000 levels deep is reported instead of overflowing the stack.
 */

declare global {
  interface String {
    /** ES2024 (Node.js 20+); the project compiles against the ES2023 library, which lacks it. */
    isWellFormed(): boolean;
  }
}

/** Deepest nesting an item or event payload may have; the item object itself is level 1. */
export const MAX_JSON_DEPTH = 32;

export type JsonProblem =
  | { kind: 'too-deep'; path: string }
  | { kind: 'invalid-string'; path: string; problem: string }
  | { kind: 'inexact-number'; path: string; problem: string };

export interface InspectOptions {
  /** Also report numbers that JSON parsing may have changed (see numberProblem); off by default. */
  numbers?: boolean;
}

interface Frame {
  value: unknown;
  depth: number;
  parent: Frame | undefined;
  key: string | number | undefined;
}

function pathOf(frame: Frame, root: string): string {
  const parts: string[] = [];
  for (let current: Frame | undefined = frame; current?.key !== undefined; current = current.parent) {
    parts.push(typeof current.key === 'number' ? `[${current.key}]` : `.${current.key}`);
  }
  return root + parts.reverse().join('');
}

/**
 * Names what Postgres jsonb rejects or what Node.js would silently change in
 * `text`: the NUL character (U+0000) and unpaired UTF-16 surrogates.
 */
export function stringProblem(text: string): string | undefined {
  if (text.includes('\u0000')) return 'the NUL character \\u0000';
  if (!text.isWellFormed()) return 'an unpaired UTF-16 surrogate';
  return undefined;
}

/**
 * Describes a number that JSON.parse may have changed, or returns undefined.
 * JSON numbers are read as IEEE 754 doubles. A literal beyond the double
 * range, such as 1e400, becomes Infinity, which JSON.stringify writes as
 * null. Every double beyond 2^53 - 1 is an integer that may be the rounded
 * form of other digits (12345678901234567890 is read as 12345678901234567000). The value as sent is gone after parsing, so the
 * description never repeats it.
 * NOTE: a literal that underflows to 0 (1e-400) and -0 (written back as 0) pass unnoticed.
 */
export function numberProblem(value: number): string | undefined {
  if (!Number.isFinite(value)) return 'a number out of the double range (beyond ±1.7976931348623157e308)';
  if (Math.abs(value) > Number.MAX_SAFE_INTEGER) {
    return 'a number beyond ±(2^53 - 1) = ±9007199254740991, whose digits JSON parsing cannot keep exactly';
  }
  return undefined;
}

/**
 * Finds the first string (key or value) that jsonb cannot store, nesting
 * deeper than `maxDepth`, or, with `options.numbers`, a number that
 * numberProblem describes. `root` names the value in the returned path.
 */
export function inspectJson(
  value: unknown,
  root: string,
  maxDepth: number = MAX_JSON_DEPTH,
  options: InspectOptions = {},
): JsonProblem | undefined {
  const stack: Frame[] = [{ value, depth: 1, parent: undefined, key: undefined }];
  const checkNumbers = options.numbers === true;

  while (stack.length > 0) {
    const frame = stack.pop() as Frame;
    const current = frame.value;

    if (checkNumbers && typeof current === 'number') {
      const problem = numberProblem(current);
      if (problem !== undefined) return { kind: 'inexact-number', path: pathOf(frame, root), problem };
      continue;
    }

    if (typeof current === 'string') {
      const problem = stringProblem(current);
      if (problem !== undefined) return { kind: 'invalid-string', path: pathOf(frame, root), problem };
      continue;
    }
    if (current === null || typeof current !== 'object') continue;
    if (frame.depth > maxDepth) return { kind: 'too-deep', path: pathOf(frame, root) };

    if (Array.isArray(current)) {
      for (let index = current.length - 1; index >= 0; index--) {
        stack.push({ value: current[index], depth: frame.depth + 1, parent: frame, key: index });
      }
      continue;
    }
    for (const key of Object.keys(current)) {
      const problem = stringProblem(key);
      if (problem !== undefined) {
        return { kind: 'invalid-string', path: `${pathOf(frame, root)} (key ${JSON.stringify(key)})`, problem };
      }
      stack.push({ value: (current as Record<string, unknown>)[key], depth: frame.depth + 1, parent: frame, key });
    }
  }
  return undefined;
}

/**
 * Finds a key that could change an object's prototype if the value were ever
 * merged with Object.assign or a recursive merge: `__proto__`, or a
 * `constructor` object that contains `prototype`. Returns its path or undefined.
 */
export function findForbiddenKey(value: unknown, root: string): string | undefined {
  const stack: Frame[] = [{ value, depth: 1, parent: undefined, key: undefined }];

  while (stack.length > 0) {
    const frame = stack.pop() as Frame;
    const current = frame.value;
    if (current === null || typeof current !== 'object') continue;

    if (Array.isArray(current)) {
      for (let index = 0; index < current.length; index++) {
        stack.push({ value: current[index], depth: frame.depth + 1, parent: frame, key: index });
      }
      continue;
    }
    const record = current as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const child = { value: record[key], depth: frame.depth + 1, parent: frame, key };
      if (key === '__proto__') return pathOf(child, root);
      const field = record[key];
      if (key === 'constructor' && field !== null && typeof field === 'object' && Object.hasOwn(field, 'prototype')) {
        return pathOf(child, root);
      }
      stack.push(child);
    }
  }
  return undefined;
}
