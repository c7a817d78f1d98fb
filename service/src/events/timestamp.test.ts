import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { decodeEvent } from '../consumers/decode-event.js';
import { buildEvents } from './build-events.js';
import { normalizeTimestamp } from './timestamp.js';

/** [input, expected normalised value or undefined when invalid] */
const TABLE: [string | number, string | undefined][] = [
  ['2025-09-27T12:34:56.789Z', '2025-09-27T12:34:56.789+00:00'],
  ['2025-09-27T12:34:56Z', '2025-09-27T12:34:56.000+00:00'],
  ['2025-09-27T14:34:56.789+02:00', '2025-09-27T12:34:56.789+00:00'],
  ['2025-09-27T07:04:56.789-05:30', '2025-09-27T12:34:56.789+00:00'],
  ['2025-09-27t12:34:56.789z', '2025-09-27T12:34:56.789+00:00'],
  ['2025-09-27T12:34:56.123456Z', '2025-09-27T12:34:56.123+00:00'],
  ['2025-09-27T12:34:56.5+00:00', '2025-09-27T12:34:56.500+00:00'],
  ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000+00:00'],
  [1758976496, '2025-09-27T12:34:56.000+00:00'],
  [1758976496.789, '2025-09-27T12:34:56.789+00:00'],
  [1758976496789, '2025-09-27T12:34:56.789+00:00'],
  ['1758976496', '2025-09-27T12:34:56.000+00:00'],
  ['1758976496789', '2025-09-27T12:34:56.789+00:00'],
  [0, '1970-01-01T00:00:00.000+00:00'],
  ['2025-09-27T12:34:56', undefined],
  ['2025-09-27', undefined],
  ['2025-02-30T00:00:00Z', undefined],
  ['2023-02-29T00:00:00Z', undefined],
  ['2025-13-01T00:00:00Z', undefined],
  ['2025-09-27T25:00:00Z', undefined],
  ['2025-09-27T12:34:56+24:00', undefined],
  ['yesterday', undefined],
  ['', undefined],
  [-1, undefined],
  [Number.NaN, undefined],
  [1e20, undefined],
];

describe('timestamp normalisation', () => {
  for (const [input, expected] of TABLE) {
    test(`${JSON.stringify(input)} -> ${expected ?? 'invalid'}`, () => {
      const verdict = normalizeTimestamp(input);
      if (expected === undefined) {
        assert.equal(verdict.ok, false);
      } else {
        assert.deepEqual(verdict, { ok: true, value: expected });
      }
    });
  }

  test('API and consumers give the same verdict', () => {
    for (const [input, expected] of TABLE) {
      const api = buildEvents([{ id: 'a', text: 't', timestamp: input }], {
        defaultNamespace: 'api_ns',
        maxTextLength: 100,
        now: 0,
      });
      const event = {
        event_id: randomUUID(),
        id: 'a',
        namespace: 'api_ns',
        type: 'episodic',
        timestamp: input,
        payload: { text: 't' },
      };
      const consumer = decodeEvent(Buffer.from(JSON.stringify(event)));

      const label = JSON.stringify(input);
      // JSON has no NaN: it serialises as null, which both sides reject.
      assert.equal(api.events.length === 1, expected !== undefined, `API verdict on ${label}`);
      assert.equal(consumer.ok, expected !== undefined, `consumer verdict on ${label}`);
      if (expected !== undefined && consumer.ok) {
        assert.equal(api.events[0]?.timestamp, expected, `API value for ${label}`);
        assert.equal(consumer.event.timestamp, expected, `consumer value for ${label}`);
      }
    }
  });

  test('emits UTC with an explicit offset', () => {
    const result = buildEvents([{ text: 'x' }], { defaultNamespace: 'n', maxTextLength: 10, now: Date.UTC(2025, 8, 27, 12, 34, 56, 789) });
    assert.equal(result.events[0]?.timestamp, '2025-09-27T12:34:56.789+00:00');
  });
});
