import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inspectJson, numberProblem } from './json-inspect.js';

test('numberProblem accepts doubles that JSON keeps exactly', () => {
  for (const value of [0, -0, 1.5, 9007199254740991, -9007199254740991, 1.5e-300, 6.5e15]) {
    assert.equal(numberProblem(value), undefined, String(value));
  }
});

test('numberProblem names out-of-range and rounded numbers', () => {
  assert.match(numberProblem(Number.POSITIVE_INFINITY) ?? '', /^a number out of the double range/);
  assert.match(numberProblem(Number.NEGATIVE_INFINITY) ?? '', /^a number out of the double range/);
  assert.match(numberProblem(9007199254740992) ?? '', /^a number beyond ±\(2\^53 - 1\)/);
  assert.match(numberProblem(-1e300) ?? '', /^a number beyond ±\(2\^53 - 1\)/);
});

test('inspectJson reports numbers only when asked', () => {
  const item = JSON.parse('{"payload":{"list":[1,{"big":1e400}]}}') as unknown;
  assert.equal(inspectJson(item, 'item'), undefined);
  const problem = inspectJson(item, 'item', 32, { numbers: true });
  assert.equal(problem?.kind, 'inexact-number');
  assert.equal(problem?.path, 'item.payload.list[1].big');
});
