/** The --summarize mode of bench/cpu-per-item.ts on result lines as --out writes them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarizeRuns } from './cpu-per-item.js';

function line(label: string, total: number, api: number, loadAverage: [number, number]): string {
  return JSON.stringify({
    label,
    mode: 'closed',
    items: 1000,
    consistentItemsPerSecond: total * 10,
    cpuMicrosPerItem: total,
    cpuMicrosPerItemByProcess: { api, harness: 9 },
    loadAverage,
  });
}

test('summary groups runs by label', () => {
  const text = [
    line('after', 180, 28, [5, 6]),
    line('before', 230, 35, [4.5, 7]),
    '',
    line('after', 190, 30, [6, 9]),
    line('before', 240, 31, [5, 5]),
    line('after', 200, 24, [7, 8]),
  ].join('\n');

  const summaries = summarizeRuns(text);

  assert.deepEqual(summaries.map((summary) => summary.label), ['after', 'before']);
  const [after, before] = summaries;
  assert.equal(after?.runs, 3);
  assert.deepEqual(after?.total, { median: 190, min: 180, max: 200 });
  assert.deepEqual(after?.byProcess, { api: 28, harness: 9 });
  assert.equal(after?.consistentItemsPerSecond, 1900);
  assert.deepEqual(after?.loadAverage, [5, 9]);
  assert.equal(before?.runs, 2);
  assert.deepEqual(before?.total, { median: 235, min: 230, max: 240 });
  assert.equal(before?.byProcess.api, 33);
});

test('summary rejects a foreign line', () => {
  const text = `${line('after', 180, 28, [5, 6])}\n{"label":"x"}\n`;

  assert.throws(() => summarizeRuns(text), /line 2 is not a result of bench\/cpu-per-item\.ts/);
});

test('summary rejects a line of text', () => {
  const text = `${line('after', 180, 28, [5, 6])}\nbench: run 1\n`;

  assert.throws(() => summarizeRuns(text), /line 2 is not valid JSON/);
});
