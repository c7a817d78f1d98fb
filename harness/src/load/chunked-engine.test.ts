/**
 * The chunked engine against a fault-injecting HTTP server on 127.0.0.1. The
 * server is a stand-in for faults that the real service gives only under
 * conditions a test cannot arrange cheaply, such as a reset connection or a
 * 429 with Retry-After on a chosen request. The harness integration tests
 * (commands/e2e.test.ts) run the engine against the real service.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CHUNKED_FIXED_RATE_LATENCY_NOTE, CHUNKED_LATENCY_NOTE, createChunkedEngine } from './chunked-engine.js';
import { accountChunkResponse } from './chunk-response.js';
import { generateItem, generateItems } from './items.js';
import { summarizeLatency } from './latency.js';
import { backoffDelayMs, isRetriableStatus, parseRetryAfterMs } from './retry.js';
import { startStallServer } from './stall-server.js';
import type { LoadSpec } from '../scenario/types.js';
import type { TargetEndpoints } from '../targets/types.js';
import type { LoadProgress } from './types.js';

type Fault = 'reset' | 503 | 429 | 'partial' | 'none';

interface FaultServer {
  url: string;
  stored: Map<string, number>;
  requests: number;
  close(): Promise<void>;
}

async function readJson(request: IncomingMessage): Promise<{ items: Record<string, unknown>[] }> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as { items: Record<string, unknown>[] };
}

/** Serves /store_bulk; the n-th request gets faults[n] (none after the list ends). */
async function startFaultServer(faults: Fault[]): Promise<FaultServer> {
  const state = { stored: new Map<string, number>(), requests: 0 };
  const server: Server = createServer(async (request: IncomingMessage, response: ServerResponse) => {
    const fault = faults[state.requests] ?? 'none';
    state.requests += 1;
    const { items } = await readJson(request);
    if (fault === 'reset') {
      request.socket.destroy();
      return;
    }
    if (fault === 503 || fault === 429) {
      response.writeHead(fault, { 'content-type': 'application/json', ...(fault === 429 ? { 'retry-after': '0' } : {}) });
      response.end(JSON.stringify({ statusCode: fault, code: 'SOMA_ERR_TEST_FAULT', message: 'injected' }));
      return;
    }
    const rejected = fault === 'partial' ? [{ index: 1, id: items[1]?.id, code: 'SOMA_ERR_ITEM_INVALID', message: 'text: missing' }] : [];
    const ids: string[] = [];
    items.forEach((item, index) => {
      if (rejected.some((entry) => entry.index === index)) return;
      const id = String(item.id);
      state.stored.set(id, (state.stored.get(id) ?? 0) + 1);
      ids.push(id);
    });
    response.writeHead(202, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ mode: 'evented', accepted: ids.length, ids, rejected }));
  });
  await new Promise<void>((resolvePromise) => server.listen(0, '127.0.0.1', resolvePromise));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stored: state.stored,
    get requests() {
      return state.requests;
    },
    close: () =>
      new Promise<void>((resolvePromise) => {
        server.closeAllConnections();
        server.close(() => resolvePromise());
      }),
  };
}

function endpoints(apiUrl: string): TargetEndpoints {
  return {
    target: 'external',
    apiUrl,
    postgresUrl: 'postgres://unused',
    qdrantUrl: 'http://unused',
    kafkaBrokers: [],
    topic: 'memory.events',
    consumerGroups: [],
    namespace: 'api_ns',
  };
}

function spec(overrides: Partial<LoadSpec> = {}): LoadSpec {
  return {
    engine: 'chunked',
    items: 40,
    chunkSize: 10,
    concurrency: 2,
    seed: 'test-seed',
    shapes: { flat: 1, coord: 1 },
    invalidItems: 0,
    textLength: { min: 20, max: 40 },
    retry: { maxAttempts: 5, baseDelayMs: 1, maxDelayMs: 5 },
    requestTimeoutMs: 5000,
    options: {},
    ...overrides,
  };
}

const ITEM_OPTIONS = {
  runId: 'run-a',
  namespace: 'ns',
  seed: 's1',
  shapes: { flat: 1, coord: 1 },
  invalidItems: 0,
  textLength: { min: 10, max: 30 },
};

test('items are identical for the same seed and run id', () => {
  assert.deepEqual(generateItems(0, 20, ITEM_OPTIONS), generateItems(0, 20, ITEM_OPTIONS));
  assert.deepEqual(generateItem(7, ITEM_OPTIONS), generateItems(0, 10, ITEM_OPTIONS)[7]);
});

test('items differ for another seed but keep their ids', () => {
  const first = generateItem(3, ITEM_OPTIONS);
  const second = generateItem(3, { ...ITEM_OPTIONS, seed: 's2' });
  assert.equal(first.id, second.id);
  assert.notDeepEqual(first.body, second.body);
});

test('item shapes follow the weights', () => {
  const items = generateItems(0, 400, { ...ITEM_OPTIONS, shapes: { flat: 3, coord: 1 } });
  const coord = items.filter((item) => item.shape === 'coord').length;
  assert.ok(coord > 60, `expected about 100 coordinate items of 400, got ${coord}`);
  assert.ok(coord < 140, `expected about 100 coordinate items of 400, got ${coord}`);
  const flat = items.find((item) => item.shape === 'flat');
  assert.equal(typeof flat?.body.text, 'string');
  assert.equal(flat?.body.run_id, 'run-a');
  const coordItem = items.find((item) => item.shape === 'coord');
  assert.ok(Array.isArray(coordItem?.body.coord));
  assert.equal(coordItem?.body.run_id, 'run-a');
});

test('invalid items carry neither text nor coord', () => {
  const items = generateItems(0, 200, { ...ITEM_OPTIONS, invalidItems: 0.5 });
  const invalid = items.filter((item) => !item.valid);
  assert.ok(invalid.length > 50, `expected about 100 invalid items, got ${invalid.length}`);
  for (const item of invalid) {
    assert.equal(item.body.text, undefined);
    assert.equal(item.body.coord, undefined);
  }
});

test('retriable statuses are 429 and 5xx only', () => {
  assert.equal(isRetriableStatus(429), true);
  assert.equal(isRetriableStatus(500), true);
  assert.equal(isRetriableStatus(503), true);
  assert.equal(isRetriableStatus(400), false);
  assert.equal(isRetriableStatus(413), false);
  assert.equal(isRetriableStatus(202), false);
});

test('backoff grows exponentially within the cap with full jitter', () => {
  const policy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1000 };
  assert.equal(backoffDelayMs(1, policy, () => 0.9999999), 100);
  assert.equal(backoffDelayMs(3, policy, () => 0.9999999), 400);
  assert.equal(backoffDelayMs(10, policy, () => 0.9999999), 1000);
  assert.equal(backoffDelayMs(3, policy, () => 0), 0);
  assert.equal(backoffDelayMs(1, policy, () => 0, 700), 700);
  assert.equal(backoffDelayMs(1, policy, () => 0, 5000), 1000);
});

test('Retry-After in seconds is read, dates are ignored', () => {
  assert.equal(parseRetryAfterMs('2'), 2000);
  assert.equal(parseRetryAfterMs('0.5'), 500);
  assert.equal(parseRetryAfterMs('Wed, 21 Oct 2015 07:28:00 GMT'), undefined);
  assert.equal(parseRetryAfterMs(undefined), undefined);
});

test('partly rejected chunk is accounted item by item', () => {
  const items = generateItems(0, 4, ITEM_OPTIONS);
  const accounting = accountChunkResponse(items, 202, {
    mode: 'evented',
    accepted: 2,
    ids: [items[0]?.id, items[3]?.id],
    rejected: [{ index: 1, id: items[1]?.id, code: 'SOMA_ERR_ITEM_INVALID', message: 'text: missing' }],
  });
  assert.deepEqual(accounting.acknowledged.map((item) => item.seq), [0, 3]);
  assert.deepEqual(accounting.rejected.map((entry) => [entry.item.seq, entry.code]), [[1, 'SOMA_ERR_ITEM_INVALID']]);
  assert.deepEqual(accounting.failed.map((entry) => entry.item.seq), [2]);
  assert.match(accounting.failed[0]?.reason ?? '', /neither ids nor rejected/);
  assert.equal(accounting.mode, 'evented');
});

test('400 with errors rejects the listed items and fails the rest', () => {
  const items = generateItems(0, 2, ITEM_OPTIONS);
  const accounting = accountChunkResponse(items, 400, {
    statusCode: 400,
    code: 'SOMA_ERR_BULK_ALL_REJECTED',
    message: 'no valid item',
    errors: [{ index: 0, code: 'SOMA_ERR_ITEM_INVALID', message: 'bad' }],
  });
  assert.equal(accounting.rejected.length, 1);
  assert.equal(accounting.failed.length, 1);
  assert.match(accounting.failed[0]?.reason ?? '', /^HTTP 400 SOMA_ERR_BULK_ALL_REJECTED: no valid item$/);
});

test('engine retries 503, 429 and resets without duplicating items', async (t) => {
  const server = await startFaultServer([503, 'reset', 429, 'none', 503]);
  t.after(() => server.close());
  const engine = createChunkedEngine({ random: () => 0.5 });
  const acknowledgedByHook: string[] = [];
  const result = await engine.run(spec(), {
    endpoints: endpoints(server.url),
    runId: 'retry-run',
    namespace: 'ns',
    signal: new AbortController().signal,
    hooks: { onAcknowledged: (items) => acknowledgedByHook.push(...items.map((item) => item.id)) },
  });

  assert.equal(result.acknowledged.length, 40);
  assert.equal(result.failed.length, 0);
  assert.equal(result.notSent, 0);
  assert.equal(new Set(result.acknowledged.map((item) => item.id)).size, 40);
  assert.equal(server.stored.size, 40);
  for (const [id, count] of server.stored) assert.equal(count, 1, `item ${id} stored ${count} times`);
  assert.equal(result.requests.retried, 4);
  assert.equal(result.requests.networkErrors, 1);
  assert.equal(result.requests.byStatus['503'], 2);
  assert.equal(result.requests.byStatus['429'], 1);
  assert.equal(result.requests.succeeded, 4);
  assert.equal(result.latency.totalCount, 4);
  assert.equal(result.mode, 'evented');
  assert.equal(acknowledgedByHook.length, 40);
  assert.ok(result.acknowledged.every((item) => /^[0-9a-f]{64}$/.test(item.expectedHash)));
  assert.equal(result.chunks.length, 4);
  assert.equal(result.chunks.reduce((sum, chunk) => sum + chunk.attempts, 0), 8);
});

test('engine fails items once retries are exhausted', async (t) => {
  const server = await startFaultServer([503, 503, 503]);
  t.after(() => server.close());
  const engine = createChunkedEngine({ random: () => 0 });
  const result = await engine.run(spec({ items: 10, chunkSize: 10, concurrency: 1, retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1 } }), {
    endpoints: endpoints(server.url),
    runId: 'exhausted-run',
    namespace: 'ns',
    signal: new AbortController().signal,
  });
  assert.equal(result.acknowledged.length, 0);
  assert.equal(result.failed.length, 10);
  assert.match(result.failed[0]?.reason ?? '', /^HTTP 503 SOMA_ERR_TEST_FAULT: injected$/);
  assert.equal(result.failed[0]?.attempts, 3);
  assert.equal(result.chunks[0]?.status, 503);
});

test('engine accounts a partly rejected chunk from the response', async (t) => {
  const server = await startFaultServer(['partial']);
  t.after(() => server.close());
  const result = await createChunkedEngine().run(spec({ items: 10, chunkSize: 10, concurrency: 1 }), {
    endpoints: endpoints(server.url),
    runId: 'partial-run',
    namespace: 'ns',
    signal: new AbortController().signal,
  });
  assert.equal(result.acknowledged.length, 9);
  assert.equal(result.rejected.length, 1);
  assert.equal(result.rejected[0]?.seq, 1);
  assert.equal(result.rejected[0]?.code, 'SOMA_ERR_ITEM_INVALID');
  assert.equal(result.rejected[0]?.status, 202);
});

test('network failure to a closed port fails every item with the error', async () => {
  const server = await startFaultServer([]);
  const url = server.url;
  await server.close();
  const result = await createChunkedEngine({ random: () => 0 }).run(
    spec({ items: 5, chunkSize: 5, concurrency: 1, retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 } }),
    { endpoints: endpoints(url), runId: 'closed-run', namespace: 'ns', signal: new AbortController().signal },
  );
  assert.equal(result.failed.length, 5);
  assert.match(result.failed[0]?.reason ?? '', /ECONNREFUSED/);
  assert.equal(result.requests.networkErrors, 2);
});

test('beforeRequest hook holds the load and sees progress', async (t) => {
  const server = await startFaultServer([]);
  t.after(() => server.close());
  const seen: LoadProgress[] = [];
  const result = await createChunkedEngine().run(spec({ items: 30, chunkSize: 10, concurrency: 1 }), {
    endpoints: endpoints(server.url),
    runId: 'hook-run',
    namespace: 'ns',
    signal: new AbortController().signal,
    hooks: {
      beforeRequest: async (progress) => {
        seen.push(progress);
        await new Promise((resolvePromise) => setTimeout(resolvePromise, 5));
      },
    },
  });
  assert.equal(result.acknowledged.length, 30);
  assert.deepEqual(seen.map((progress) => progress.acknowledgedItems), [0, 10, 20]);
});

test('duration cap leaves the remaining items unsent', async (t) => {
  const server = await startFaultServer([]);
  t.after(() => server.close());
  let clock = 0;
  const result = await createChunkedEngine().run(spec({ items: 100, chunkSize: 10, concurrency: 1, durationMs: 25 }), {
    endpoints: endpoints(server.url),
    runId: 'capped-run',
    namespace: 'ns',
    signal: new AbortController().signal,
    now: () => {
      clock += 5;
      return clock;
    },
  });
  assert.ok(result.notSent > 0, 'expected unsent items');
  assert.equal(result.acknowledged.length + result.notSent, 100);
});

test('fixed-rate stall shows in corrected p99', async (t) => {
  const stallMs = 3000;
  const server = await startStallServer(1000, stallMs);
  t.after(() => server.close());
  // 2000 items/s in chunks of 10: one chunk every 5 ms over 4 workers, for 6 s.
  const result = await createChunkedEngine().run(spec({ items: 12_000, chunkSize: 10, concurrency: 4, rate: 2000, durationMs: 6000 }), {
    endpoints: endpoints(server.url),
    runId: 'stall-run',
    namespace: 'ns',
    signal: new AbortController().signal,
  });

  const corrected = summarizeLatency(result.latency);
  const measuredNote = result.notes.find((note) => note.startsWith('p99 latency'));
  const measuredP99 = Number(/, ([0-9.]+) ms as measured/.exec(measuredNote ?? '')?.[1]);
  assert.ok(server.stalledRequests() >= 1, 'the server stalled at least one request');
  assert.equal(result.failed.length, 0, 'every chunk was answered');
  assert.equal(corrected.count, result.chunks.length, 'one corrected sample per chunk');
  assert.ok(corrected.p99Ms >= stallMs * 0.66, `corrected p99 ${corrected.p99Ms} ms shows the ${stallMs} ms stall`);
  assert.ok(measuredP99 < stallMs / 2, `measured p99 ${measuredP99} ms hides the stall (${measuredNote})`);
  assert.ok(corrected.maxMs >= stallMs * 0.9, `corrected max ${corrected.maxMs} ms is the stall`);
  assert.ok(result.notes.includes(CHUNKED_FIXED_RATE_LATENCY_NOTE));
  assert.ok(!result.notes.includes(CHUNKED_LATENCY_NOTE));
});

test('closed loop reports measured latency', async (t) => {
  const server = await startFaultServer([]);
  t.after(() => server.close());
  const result = await createChunkedEngine().run(spec({ items: 30, chunkSize: 10, concurrency: 1 }), {
    endpoints: endpoints(server.url),
    runId: 'closed-loop-run',
    namespace: 'ns',
    signal: new AbortController().signal,
  });
  assert.equal(result.latency.totalCount, 3);
  assert.ok(result.notes.includes(CHUNKED_LATENCY_NOTE));
  assert.equal(result.notes.find((note) => note.startsWith('p99 latency')), undefined);
});
