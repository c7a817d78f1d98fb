import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalJson, contentHash } from './content-hash.js';
import { normalizeItem } from './normalize-item.js';

test('normalizeItem builds the flat payload', () => {
  const normalized = normalizeItem(
    { id: 'a', text: 'hello', run_id: 'r1', payload: { text: 'ignored', extra: 1 }, importance: 2 },
    { namespace: 'api_ns' },
  );
  assert.deepEqual(normalized, {
    id: 'a',
    namespace: 'api_ns',
    type: 'episodic',
    payload: { text: 'hello', extra: 1, run_id: 'r1' },
    importance: 2,
  });
});

test('normalizeItem builds the coordinate payload', () => {
  const normalized = normalizeItem({ coord: [1, 2.5, 3], payload: { run_id: 'r1', label: 'x' }, type: 'semantic', namespace: 'ns' }, { namespace: 'api_ns' });
  assert.deepEqual(normalized, { id: '1,2.5,3', namespace: 'ns', type: 'semantic', payload: { run_id: 'r1', label: 'x', coord: [1, 2.5, 3] } });
});

test('normalizeItem generates ids for flat items without one', () => {
  assert.equal(normalizeItem({ text: 't' }, { namespace: 'n', generateId: () => 'fixed' }).id, 'fixed');
});

test('contentHash ignores key order', () => {
  assert.equal(canonicalJson({ b: [1, { d: 1, c: 2 }], a: 'x' }), '{"a":"x","b":[1,{"c":2,"d":1}]}');
  assert.equal(contentHash({ a: 1, b: 2 }), contentHash({ b: 2, a: 1 }));
  assert.match(contentHash({}), /^[0-9a-f]{64}$/);
});
