import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyFigure, collectFigures, compareFigures, findInvalidFigures } from './compare.js';

function summary(figures: Record<string, number>, name = 'bulk-1000') {
  return {
    formatVersion: 1,
    scenarios: [
      {
        name,
        figures,
        load: { latency: { p99Ms: 999 }, throughput: [{ tMs: 0, latencyMeanMs: 5 }] },
      },
    ],
  };
}

const BASE = {
  latencyP50Ms: 12,
  latencyP99Ms: 20,
  acknowledgedItemsPerSecond: 800,
  consistencyP99Ms: 300,
  lagDrainMs: 250,
  harnessCpuCores: 0.2,
};

test('identical summaries pass', () => {
  const results = compareFigures(summary(BASE), summary(BASE));
  assert.ok(results.length > 0);
  assert.deepEqual(results.filter((result) => result.status !== 'ok'), []);
});

test('p99 doubled is flagged with both values', () => {
  const results = compareFigures(summary(BASE), summary({ ...BASE, latencyP99Ms: 40 }));
  const regressed = results.filter((result) => result.status === 'regressed');
  assert.equal(regressed.length, 1);
  assert.equal(regressed[0]?.figure, 'scenarios[bulk-1000].latencyP99Ms');
  assert.equal(regressed[0]?.base, 20);
  assert.equal(regressed[0]?.current, 40);
  assert.match(regressed[0]?.message ?? '', /latencyP99Ms: 40 ms now vs 20 ms in base \(\+100\.0%, tolerance 15%/);
});

test('throughput drop beyond tolerance is a regression', () => {
  const results = compareFigures(summary(BASE), summary({ ...BASE, acknowledgedItemsPerSecond: 600 }));
  const result = results.find((entry) => entry.figure.endsWith('acknowledgedItemsPerSecond'));
  assert.equal(result?.status, 'regressed');
  assert.equal(result?.changePercent, -25);
});

test('throughput rise is an improvement', () => {
  const results = compareFigures(summary(BASE), summary({ ...BASE, acknowledgedItemsPerSecond: 1200 }));
  assert.equal(results.find((entry) => entry.figure.endsWith('acknowledgedItemsPerSecond'))?.status, 'improved');
});

test('change within tolerance passes', () => {
  const results = compareFigures(summary(BASE), summary({ ...BASE, consistencyP99Ms: 330 }));
  assert.equal(results.find((entry) => entry.figure.endsWith('consistencyP99Ms'))?.status, 'ok');
});

test('sub-noise millisecond change never regresses', () => {
  const results = compareFigures(summary({ latencyP50Ms: 0.5 }), summary({ latencyP50Ms: 1.5 }));
  assert.equal(results[0]?.status, 'ok');
});

test('per-category tolerance overrides the default', () => {
  const results = compareFigures(summary(BASE), summary({ ...BASE, lagDrainMs: 280 }), { tolerances: { drain: 5 } });
  assert.equal(results.find((entry) => entry.figure.endsWith('lagDrainMs'))?.status, 'regressed');
});

test('figures only on one side are reported, not failed', () => {
  const results = compareFigures(summary(BASE), summary({ latencyP99Ms: 20 }));
  const missing = results.filter((entry) => entry.status === 'only-in-base');
  assert.ok(missing.some((entry) => entry.figure.endsWith('consistencyP99Ms')));
  assert.equal(results.filter((entry) => entry.status === 'regressed').length, 0);
});

test('summary figures are read only from figures objects', () => {
  const figures = collectFigures(summary(BASE));
  assert.deepEqual([...figures.keys()].sort(), [
    'scenarios[bulk-1000].acknowledgedItemsPerSecond',
    'scenarios[bulk-1000].consistencyP99Ms',
    'scenarios[bulk-1000].lagDrainMs',
    'scenarios[bulk-1000].latencyP50Ms',
    'scenarios[bulk-1000].latencyP99Ms',
  ]);
});

test('bench results without figures objects compare by key', () => {
  const bench = {
    chunkSizes: [
      { chunkSize: 100, label: 'chunk-100', consistentItemsPerSecond: 20000, bulkP99Ms: 20, concurrency: 8 },
      { chunkSize: 500, label: 'chunk-500', consistentItemsPerSecond: 25000, bulkP99Ms: 40 },
    ],
    timeToConsistencyP99Ms: 400,
  };
  const figures = collectFigures(bench);
  assert.equal(figures.get('chunkSizes[chunk-100].consistentItemsPerSecond'), 20000);
  assert.equal(figures.get('timeToConsistencyP99Ms'), 400);
  assert.equal(figures.has('chunkSizes[chunk-100].concurrency'), false);
  const slower = structuredClone(bench);
  (slower.chunkSizes[0] as { bulkP99Ms: number }).bulkP99Ms = 40;
  const regressed = compareFigures(bench, slower).filter((entry) => entry.status === 'regressed');
  assert.deepEqual(regressed.map((entry) => entry.figure), ['chunkSizes[chunk-100].bulkP99Ms']);
});

test('figure names classify by unit suffix', () => {
  assert.deepEqual(classifyFigure('latencyP99Ms'), { category: 'latency', direction: 'lower-is-better', unit: 'ms' });
  assert.deepEqual(classifyFigure('consistentItemsPerSecond'), { category: 'throughput', direction: 'higher-is-better', unit: 'per second' });
  assert.equal(classifyFigure('consistencyQdrantP99Ms')?.category, 'consistency');
  assert.equal(classifyFigure('lagDrainMs')?.category, 'drain');
  assert.equal(classifyFigure('harnessCpuCores'), undefined);
});

test('throughput drop from a huge base regresses', () => {
  const [result] = compareFigures({ itemsPerSecond: 1e308 }, { itemsPerSecond: 100 });
  assert.equal(result?.status, 'regressed');
  assert.equal(result?.changePercent, -100);
  assert.match(result?.message ?? '', /^itemsPerSecond: 100\/s now vs 1e\+308\/s in base \(-100\.0%/);
});

test('change too large for a ratio is beyond tolerance', () => {
  const [result] = compareFigures({ latencyP99Ms: 1e-300 }, { latencyP99Ms: 1e308 });
  assert.equal(result?.status, 'regressed');
  assert.equal(result?.changePercent, null);
  assert.match(result?.message ?? '', /a change too large to express in percent/);
});

test('invalid figures are named with their path', () => {
  assert.deepEqual(findInvalidFigures(summary({ latencyP99Ms: -5, acknowledgedItemsPerSecond: Number.POSITIVE_INFINITY, lagDrainMs: 0 })), [
    'scenarios[bulk-1000].latencyP99Ms is -5, expected 0 or more',
    'scenarios[bulk-1000].acknowledgedItemsPerSecond is Infinity, expected a finite number',
  ]);
  assert.deepEqual(findInvalidFigures(summary(BASE)), []);
});
