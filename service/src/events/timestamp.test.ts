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

/** [input, the problem that API and consumers both report] */
const PROBLEMS: [string, string][] = [
  ['2025-02-30T00:00:00Z', 'no such date: February has 28 days in 2025'],
  ['2024-02-30T00:00:00Z', 'no such date: February has 29 days in 2024'],
  ['2025-04-31T00:00:00Z', 'no such date: April has 30 days'],
  ['2025-01-00T00:00:00Z', 'day 00 does not exist; days start at 01'],
  ['+010000-01-01T00:00:00Z', 'year 10000 is out of range 0000-9999'],
  ['-000001-01-01T00:00:00Z', 'year -1 is out of range 0000-9999'],
  ['+002025-01-01T00:00:00Z', 'the expanded year +002025 is not supported; write the year with four digits'],
  ['2025-13-01T00:00:00Z', 'month 13 does not exist; months are 01-12'],
  ['2025-09-27T25:00:00Z', 'hour 25 is out of range 00-23'],
  ['2025-09-27T12:60:00Z', 'minute 60 is out of range 00-59'],
  ['2025-09-27T12:34:56+24:00', 'time zone offset +24:00 is out of range -23:59 to +23:59'],
  ['2025-09-27T12:34:56', 'no time zone offset; add Z or an offset such as +02:00'],
  ['2025-09-27T12:34Z', 'the time has no seconds; write hh:mm:ss, such as 12:34:00'],
  ['2025-09-27', 'a date without a time; add a time and a time zone offset, such as T00:00:00Z'],
  ['yesterday', 'not an ISO 8601 date-time with a time zone offset'],
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

  test('API and consumers name the same problem', () => {
    for (const [input, problem] of PROBLEMS) {
      const label = JSON.stringify(input);
      assert.deepEqual(normalizeTimestamp(input), { ok: false, problem }, `verdict on ${label}`);

      const api = buildEvents([{ id: 'a', text: 't', timestamp: input }], { defaultNamespace: 'api_ns', maxTextLength: 100, now: 0 });
      assert.equal(api.rejected[0]?.code, 'SOMA_ERR_ITEM_INVALID_TIMESTAMP', `API code for ${label}`);
      assert.ok(api.rejected[0]?.message.includes(`(${problem})`), `API message for ${label}: ${api.rejected[0]?.message}`);

      const event = { event_id: randomUUID(), id: 'a', namespace: 'api_ns', type: 'episodic', timestamp: input, payload: { text: 't' } };
      const consumer = decodeEvent(Buffer.from(JSON.stringify(event)));
      assert.equal(consumer.ok, false, `consumer verdict on ${label}`);
      if (!consumer.ok) assert.ok(consumer.detail.endsWith(`: ${problem}`), `consumer detail for ${label}: ${consumer.detail}`);
    }
  });

  test('emits UTC with an explicit offset', () => {
    const result = buildEvents([{ text: 'x' }], { defaultNamespace: 'n', maxTextLength: 10, now: Date.UTC(2025, 8, 27, 12, 34, 56, 789) });
    assert.equal(result.events[0]?.timestamp, '2025-09-27T12:34:56.789+00:00');
  });
});
