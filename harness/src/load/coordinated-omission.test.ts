/**
 * Coordinated omission: the autocannon engine at a fixed rate against a small
 * /store_bulk server on 127.0.0.1 that stalls every request for a few
 * seconds once. The stall must show in the corrected p99 although only the
 * few requests in flight during it measured it, and the run that fell short
 * of its rate must be marked invalid.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LoadSpec } from '../scenario/types.js';
import { judgeArrivalRate } from './arrival-rate.js';
import { createAutocannonEngine } from './autocannon-engine.js';
import { recordCorrectedLatencyMs } from './coordinated-omission.js';
import { createLatencyHistogram, recordLatencyMs, summarizeLatency } from './latency.js';
import { startStallServer } from './stall-server.js';

const STALL_AFTER_MS = 1000;
const STALL_MS = 3000;

function fixedRateSpec(): LoadSpec {
  return {
    engine: 'autocannon',
    items: 100_000,
    chunkSize: 10,
    concurrency: 4,
    durationMs: 6000,
    // 2000 items/s in requests of 10: 200 requests/s, 50 per connection, one every 20 ms.
    rate: 2000,
    seed: 'stall',
    shapes: { flat: 1, coord: 0 },
    invalidItems: 0,
    textLength: { min: 16, max: 32 },
    retry: { maxAttempts: 1, baseDelayMs: 100, maxDelayMs: 100 },
    requestTimeoutMs: 30_000,
    options: {},
  };
}

test('stall shows in corrected p99 of fixed-rate autocannon', async () => {
  const server = await startStallServer(STALL_AFTER_MS, STALL_MS);
  try {
    const engine = createAutocannonEngine();
    const result = await engine.run(fixedRateSpec(), {
      endpoints: {
        target: 'external',
        apiUrl: server.url,
        postgresUrl: 'postgresql://unused@127.0.0.1:1/unused',
        qdrantUrl: 'http://127.0.0.1:1',
        kafkaBrokers: [],
        topic: 'unused',
        consumerGroups: [],
        namespace: 'stall_ns',
      },
      runId: 'stall-run',
      namespace: 'stall_ns',
      signal: new AbortController().signal,
    });

    const corrected = summarizeLatency(result.latency);
    const measuredNote = result.notes.find((note) => note.startsWith('p99 latency'));
    const measuredP99 = Number(/, ([0-9.]+) ms as measured/.exec(measuredNote ?? '')?.[1]);

    assert.ok(server.stalledRequests() >= 1, 'the server stalled at least one request');
    assert.equal(result.failed.length, 0, 'every request was answered');
    assert.ok(corrected.p99Ms >= STALL_MS * 0.66, `corrected p99 ${corrected.p99Ms} ms shows the ${STALL_MS} ms stall`);
    assert.ok(measuredP99 < STALL_MS / 2, `measured p99 ${measuredP99} ms hides the stall (${measuredNote})`);
    assert.ok(corrected.maxMs >= STALL_MS * 0.9, `max ${corrected.maxMs} ms is the stall`);
    assert.equal(result.invalidReasons?.length, 1, 'the run fell short of its rate');
    assert.match(result.invalidReasons?.[0] ?? '', /^the load fell short of its fixed arrival rate: [0-9.]+ requests\/s of 200\/s/);
  } finally {
    await server.close();
  }
});

test('correction adds the samples a stall held back', () => {
  const histogram = createLatencyHistogram();
  for (let index = 0; index < 99; index += 1) recordLatencyMs(histogram, 2);
  recordCorrectedLatencyMs(histogram, 1000, 10);

  const summary = summarizeLatency(histogram);
  assert.equal(summary.count, 99 + 100, 'one measured sample and 99 held back');
  assert.ok(summary.p99Ms >= 980, `p99 ${summary.p99Ms} ms`);
});

test('correction without an interval records one sample', () => {
  const histogram = createLatencyHistogram();
  recordCorrectedLatencyMs(histogram, 1000, 0);
  assert.equal(histogram.totalCount, 1);
});

test('arrival rate judges shortfall and dropped iterations', () => {
  const base = { unit: 'iterations', targetPerSecond: 100, windowMs: 10_000, maxShortfall: 0.05, fix: 'raise maxVUs' };

  const onRate = judgeArrivalRate({ ...base, started: 990, dropped: 0 });
  assert.equal(onRate.invalidReason, undefined);
  assert.equal(onRate.achievedPerSecond, 99);

  const slow = judgeArrivalRate({ ...base, started: 800, dropped: 0 });
  assert.equal(slow.shortfall, 0.2);
  assert.match(slow.invalidReason ?? '', /80 iterations\/s of 100\/s .*20% short, limit 5%\), .*; raise maxVUs$/);

  const dropped = judgeArrivalRate({ ...base, started: 1000, dropped: 100 });
  assert.match(dropped.invalidReason ?? '', /100 iterations dropped/);
});
