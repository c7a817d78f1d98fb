import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeGroupLag, partitionLag, summarizeLagCurve, type LagSample } from './lag.js';

const CASES: { name: string; committed: string | number | null; low: string; high: string; lag: number }[] = [
  { name: 'no committed offset (-1) on a partition with messages', committed: '-1', low: '0', high: '25', lag: 25 },
  { name: 'no committed offset (-1) on a partition whose early messages were deleted', committed: '-1', low: '10', high: '25', lag: 15 },
  { name: 'no committed offset (-1) on an empty partition', committed: '-1', low: '0', high: '0', lag: 0 },
  { name: 'no committed offset (null) on a partition with messages', committed: null, low: '0', high: '7', lag: 7 },
  { name: 'empty partition after retention (low == high)', committed: '-1', low: '40', high: '40', lag: 0 },
  { name: 'empty partition with a committed offset', committed: '0', low: '0', high: '0', lag: 0 },
  { name: 'committed equal to the high watermark', committed: '25', low: '0', high: '25', lag: 0 },
  { name: 'committed behind the high watermark', committed: '20', low: '0', high: '25', lag: 5 },
  { name: 'committed below the low watermark (retention overtook the group)', committed: '3', low: '10', high: '25', lag: 15 },
  { name: 'committed above the high watermark (topic recreated)', committed: '30', low: '0', high: '25', lag: 0 },
  { name: 'offsets beyond 2^53 stay exact', committed: '9007199254740993', low: '0', high: '9007199254740999', lag: 6 },
];

for (const entry of CASES) {
  test(`lag: ${entry.name}`, () => {
    assert.equal(partitionLag(entry.committed, entry.low, entry.high), entry.lag);
  });
}

test('group lag covers partitions the group never committed on', () => {
  const lag = computeGroupLag(
    'soma-kv-writer',
    [
      { partition: 2, low: '0', high: '0' },
      { partition: 0, low: '0', high: '10' },
      { partition: 1, low: '0', high: '8' },
    ],
    [{ partition: 0, offset: '10' }],
  );
  assert.deepEqual(
    lag.partitions.map((entry) => [entry.partition, entry.committed, entry.lag]),
    [
      [0, 10, 0],
      [1, null, 8],
      [2, null, 0],
    ],
  );
  assert.equal(lag.total, 8);
});

function sample(tMs: number, total: number): LagSample {
  return { tMs, total, groups: [{ group: 'g', partitions: [], total }] };
}

test('lag curve finds peak and time to drain after the load', () => {
  const summary = summarizeLagCurve([sample(0, 0), sample(500, 40), sample(1000, 90), sample(1500, 30), sample(2000, 0), sample(2500, 0)], 1200);
  assert.equal(summary.peakTotal, 90);
  assert.equal(summary.peakAtMs, 1000);
  assert.equal(summary.drained, true);
  assert.equal(summary.drainedAtMs, 2000);
  assert.equal(summary.timeToDrainMs, 800);
  assert.deepEqual(summary.peakByGroup, { g: 90 });
});

test('lag curve that ends above zero is not drained', () => {
  const summary = summarizeLagCurve([sample(0, 5), sample(500, 0), sample(1000, 3)], 400);
  assert.equal(summary.drained, false);
  assert.equal(summary.timeToDrainMs, null);
});

test('lag curve ignores failed samples', () => {
  const failed: LagSample = { tMs: 900, total: 0, groups: [], error: 'broker down' };
  const summary = summarizeLagCurve([sample(0, 4), failed], 0);
  assert.equal(summary.samples, 1);
  assert.equal(summary.drained, false);
});
