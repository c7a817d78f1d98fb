/**
 * Timestamp normalisation shared by the API and the consumers, so both give
 * the same verdict on the same value. Accepted: an RFC 3339 / ISO 8601
 * date-time with `Z` or a numeric offset (the `date-time` format of the event
 * schema), or epoch seconds or milliseconds as a number or a digit string.
 * The result is UTC with millisecond precision and an explicit offset,
 * e.g. `2025-09-27T12:34:56.789+00:00`.
 */
import { createAjv } from './ajv.js';

export type TimestampVerdict = { ok: true; value: string } | { ok: false; problem: string };

/**
 * Epoch values below this are seconds, the others milliseconds. 1e11 seconds
 * is the year 5138 and 1e11 milliseconds is March 1973, so both readings are
 * unambiguous for any date after 1973.
 */
export const EPOCH_SECONDS_LIMIT = 1e11;
/** 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: the range of four-digit years. */
const MIN_EPOCH_MS = -62_167_219_200_000;
const MAX_EPOCH_MS = 253_402_300_799_999;
const EPOCH_STRING = /^[0-9]+(\.[0-9]+)?$/;

const validateDateTime = createAjv().compile<string>({ type: 'string', format: 'date-time' });

/** Formats epoch milliseconds as UTC ISO 8601 with a `+00:00` offset. */
export function formatTimestamp(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/Z$/, '+00:00');
}

function fromEpoch(epoch: number): TimestampVerdict {
  if (!Number.isFinite(epoch) || epoch < 0) {
    return { ok: false, problem: 'epoch values must be finite and not negative' };
  }
  const epochMs = Math.round(epoch < EPOCH_SECONDS_LIMIT ? epoch * 1000 : epoch);
  if (epochMs > MAX_EPOCH_MS) return { ok: false, problem: 'the date is after the year 9999' };
  return { ok: true, value: formatTimestamp(epochMs) };
}

let lastInput: unknown;
let lastVerdict: TimestampVerdict | undefined;

/**
 * Normalises a timestamp or names why it is invalid. The verdict is frozen
 * and reused for an input equal to the previous one, because the events of
 * one request share one acceptance timestamp.
 */
export function normalizeTimestamp(input: unknown): TimestampVerdict {
  if (lastVerdict !== undefined && input === lastInput) return lastVerdict;
  const verdict = Object.freeze(judgeTimestamp(input));
  lastInput = input;
  lastVerdict = verdict;
  return verdict;
}

function judgeTimestamp(input: unknown): TimestampVerdict {
  if (typeof input === 'number') return fromEpoch(input);
  if (typeof input !== 'string') {
    return { ok: false, problem: `expected a string or a number, got ${input === null ? 'null' : typeof input}` };
  }
  if (EPOCH_STRING.test(input)) return fromEpoch(Number(input));
  if (!validateDateTime(input)) {
    return { ok: false, problem: 'not an ISO 8601 date-time with a time zone offset' };
  }
  const epochMs = Date.parse(input);
  if (Number.isNaN(epochMs)) return { ok: false, problem: 'not a representable date-time' };
  if (epochMs < MIN_EPOCH_MS || epochMs > MAX_EPOCH_MS) {
    return { ok: false, problem: 'the year is outside 0000 to 9999' };
  }
  return { ok: true, value: formatTimestamp(epochMs) };
}
