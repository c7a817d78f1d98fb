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

const MONTH_NAMES = [
  'January', 'February', 'March', 'April', 'May', 'June',
  'July', 'August', 'September', 'October', 'November', 'December',
];
/**
 * A date-time with a four-digit or an expanded (`+YYYYYY`) year, read loosely
 * so that an invalid field can be named: year, month, day, hour, minute,
 * second, fraction and zone.
 */
const LOOSE_DATE_TIME = /^([+-]\d{6}|\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?)?$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  return month === 2 && isLeapYear(year) ? 29 : (DAYS_IN_MONTH[month - 1] ?? 31);
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/**
 * Names what is wrong with a string that the date-time format rejected, such
 * as "no such date: February has 28 days in 2025". Falls back to the general
 * rule when no single field explains the rejection.
 */
export function describeInvalidDateTime(input: string): string {
  const general = 'not an ISO 8601 date-time with a time zone offset';
  const match = LOOSE_DATE_TIME.exec(input);
  if (match === null) return general;
  const [, yearText = '', monthText = '', dayText = '', hourText, minuteText = '', secondText, , zone] = match;

  const year = Number(yearText);
  if (yearText.length !== 4) {
    return year < 0 || year > 9999
      ? `year ${year} is out of range 0000-9999`
      : `the expanded year ${yearText} is not supported; write the year with four digits`;
  }
  const month = Number(monthText);
  if (month < 1 || month > 12) return `month ${monthText} does not exist; months are 01-12`;
  const day = Number(dayText);
  const days = daysInMonth(year, month);
  if (day < 1) return `day ${dayText} does not exist; days start at 01`;
  if (day > days) {
    const yearNote = month === 2 ? ` in ${yearText}` : '';
    return `no such date: ${MONTH_NAMES[month - 1] ?? monthText} has ${days} days${yearNote}`;
  }
  if (hourText === undefined) return 'a date without a time; add a time and a time zone offset, such as T00:00:00Z';
  if (Number(hourText) > 23) return `hour ${hourText} is out of range 00-23`;
  if (Number(minuteText) > 59) return `minute ${minuteText} is out of range 00-59`;
  if (secondText === undefined) return 'the time has no seconds; write hh:mm:ss, such as 12:34:00';
  if (zone === undefined) return 'no time zone offset; add Z or an offset such as +02:00';
  const offset = /^[+-](\d{2}):?(\d{2})$/.exec(zone);
  if (offset !== null && (Number(offset[1]) > 23 || Number(offset[2]) > 59)) {
    return `time zone offset ${zone} is out of range -23:59 to +23:59`;
  }
  return general;
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
  if (!validateDateTime(input)) return { ok: false, problem: describeInvalidDateTime(input) };
  const epochMs = Date.parse(input);
  if (Number.isNaN(epochMs)) return { ok: false, problem: 'not a representable date-time' };
  if (epochMs < MIN_EPOCH_MS || epochMs > MAX_EPOCH_MS) {
    return { ok: false, problem: 'the year is outside 0000 to 9999' };
  }
  return { ok: true, value: formatTimestamp(epochMs) };
}
