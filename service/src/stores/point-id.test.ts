import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toPointId, uuidV5 } from './point-id.js';

test('uuidV5 matches the RFC 9562 example', () => {
  // RFC 9562 appendix A.4: name "www.example.com" in the DNS namespace.
  assert.equal(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8'), '2ed6657d-e927-568b-95e1-2665a8aea6a2');
});

test('toPointId keeps unsigned integers as numbers', () => {
  assert.equal(toPointId('0'), 0);
  assert.equal(toPointId('42'), 42);
  assert.equal(toPointId('9007199254740991'), 9007199254740991);
});

test('toPointId keeps lower-case UUIDs', () => {
  assert.equal(toPointId('6ba7b810-9dad-11d1-80b4-00c04fd430c8'), '6ba7b810-9dad-11d1-80b4-00c04fd430c8');
  assert.equal(toPointId('0192f4c6-3b7e-7cc2-9a41-5f0d8e2b6a17'), '0192f4c6-3b7e-7cc2-9a41-5f0d8e2b6a17');
});

test('toPointId maps version 5 UUIDs', () => {
  const derived = uuidV5('collide-src');
  assert.equal(toPointId('collide-src'), derived);
  assert.notEqual(toPointId(derived), derived);
  assert.equal(toPointId(derived), uuidV5(derived));
});

test('toPointId keeps UUIDs differing in case apart', () => {
  const upper = toPointId('6BA7B810-9DAD-11D1-80B4-00C04FD430C8');
  assert.notEqual(upper, '6ba7b810-9dad-11d1-80b4-00c04fd430c8');
  assert.equal(upper, uuidV5('6BA7B810-9DAD-11D1-80B4-00C04FD430C8'));
});

test('toPointId maps other ids to a deterministic UUID v5', () => {
  for (const id of ['doc-1', '007', '-1', '9007199254740993', 'a b', 'ünï', '1,2,3']) {
    const pointId = toPointId(id);
    assert.equal(typeof pointId, 'string', id);
    assert.match(String(pointId), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, id);
    assert.equal(toPointId(id), pointId, `${id} maps to the same point id twice`);
  }
  assert.notEqual(toPointId('007'), toPointId('7'));
});
