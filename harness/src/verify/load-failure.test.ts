import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLatencyHistogram } from '../load/latency.js';
import type { LoadResult } from '../load/types.js';
import { findLoadFailure } from './load-failure.js';

/** A chunked load of two 5-item requests answered with the given statuses. */
function load(statuses: number[], reason: (status: number) => string = (status) => `HTTP ${status}`): LoadResult {
  const byStatus: Record<string, number> = {};
  for (const status of statuses) byStatus[status] = (byStatus[status] ?? 0) + 1;
  const succeeded = statuses.filter((status) => status >= 200 && status < 300).length;
  const failed = statuses.flatMap((status, request) =>
    status >= 200 && status < 300 ? [] : Array.from({ length: 5 }, (_, index) => ({ id: `r-${request * 5 + index}`, seq: request * 5 + index, attempts: 1, reason: reason(status) })),
  );
  return {
    engine: 'chunked', runId: 'r', namespace: 'ns', mode: 'unknown', startedAtMs: 0, endedAtMs: 100, totalItems: statuses.length * 5,
    acknowledged: [], rejected: [], failed, notSent: 0,
    requests: { total: statuses.length, succeeded, retried: 0, networkErrors: 0, byStatus },
    chunks: [], latency: createLatencyHistogram(), throughput: [], notes: [],
  };
}

const MISSING = (status: number) => `HTTP ${status} SOMA_ERR_AUTH_MISSING_TOKEN: the request has no Authorization: Bearer header`;

test('every request 401 names SOMA_API_TOKEN', () => {
  const cause = findLoadFailure(load([401, 401], MISSING), 'external');
  assert.equal(
    cause,
    'every request (2 of 2) was answered with HTTP 401 SOMA_ERR_AUTH_MISSING_TOKEN: the request has no Authorization: Bearer header: ' +
      'the API requires a bearer token and the harness sent none; ' +
      "set SOMA_API_TOKEN to the API's token in the environment of soma-harness, e.g. SOMA_API_TOKEN=<token> soma-harness run ...",
  );
});

test('every request 403 says the token was rejected', () => {
  const cause = findLoadFailure(load([403, 403], (status) => `HTTP ${status} SOMA_ERR_AUTH_INVALID_TOKEN: wrong token`), 'local');
  assert.match(cause ?? '', /^every request \(2 of 2\) was answered with HTTP 403 SOMA_ERR_AUTH_INVALID_TOKEN: wrong token: the API rejected the token in SOMA_API_TOKEN; set SOMA_API_TOKEN/);
  assert.match(cause ?? '', /the local target starts its API with the SOMA_API_TOKEN of the `up` that started it/);
});

test('every request with one other 4xx is named plainly', () => {
  const cause = findLoadFailure(load([413, 413], (status) => `HTTP ${status} SOMA_ERR_BULK_TOO_LARGE: 200 items, limit 100`), 'external');
  assert.match(cause ?? '', /^every request \(2 of 2\) was answered with HTTP 413 SOMA_ERR_BULK_TOO_LARGE: 200 items, limit 100, a client error that a retry does not fix/);
});

test('mixed, retried or partly successful loads have no single cause', () => {
  assert.equal(findLoadFailure(load([401, 403], MISSING), 'local'), undefined);
  assert.equal(findLoadFailure(load([429, 429]), 'local'), undefined);
  assert.equal(findLoadFailure(load([503, 503]), 'local'), undefined);
  assert.equal(findLoadFailure(load([202, 401], MISSING), 'local'), undefined);
  assert.equal(findLoadFailure(load([]), 'local'), undefined);
});
