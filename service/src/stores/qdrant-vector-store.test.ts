/** The request size estimate that splits Qdrant upserts, against the real JSON size. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { estimateJsonBytes } from './qdrant-vector-store.js';

function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}

const VALUES: [string, unknown][] = [
  ['ASCII text', { text: 'bench item 7: amber harbor lantern meadow', run_id: 'run-1', seq: 7 }],
  ['multi-byte text', { text: '東京タワーと Σίσυφος und Straße 😀', n: 1.5 }],
  ['nested arrays', { coord: [1, 2.5, -3], deep: { list: [[1, 2], ['a', null, true]], empty: {} } }],
  ['numbers', [0, -1, 0.1 + 0.2, 1e300, Number.MAX_SAFE_INTEGER]],
];

for (const [name, value] of VALUES) {
  test(`size estimate covers ${name}`, () => {
    const actual = jsonBytes(value);
    const estimate = estimateJsonBytes(value);
    assert.ok(estimate >= actual, `estimate ${estimate} below the ${actual} bytes of ${JSON.stringify(value)}`);
    assert.ok(estimate <= actual * 3, `estimate ${estimate} far above the ${actual} bytes of ${JSON.stringify(value)}`);
  });
}

test('size estimate counts UTF-8 bytes', () => {
  assert.equal(estimateJsonBytes('é'), 4);
  assert.equal(estimateJsonBytes('東'), 5);
  assert.equal(estimateJsonBytes({ a: 'b' }), 2 + 1 + 4 + 3);
});
