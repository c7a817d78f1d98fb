/**
 * Validates request items one by one and builds the events for the valid
 * ones. An invalid item is reported by its index and never stops its
 * neighbours; the caller decides what to do when none is valid.
 */
import { randomUUID } from 'node:crypto';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { countCodePoints, itemError, quoteValue, type ItemError } from '../errors.js';
import { createAjv, describeAjvError, describeType } from './ajv.js';
import { inspectJson, MAX_JSON_DEPTH } from './json-inspect.js';
import { isCoordinateItem, normalizeItem, type CoordinateItem, type FlatItem, type StoreItem } from './normalize-item.js';
import { eventValidator, type MemoryEvent } from './schema.js';
import { formatTimestamp, normalizeTimestamp } from './timestamp.js';

export interface BuildOptions {
  defaultNamespace: string;
  maxTextLength: number;
  /** Acceptance time in epoch milliseconds; the timestamp of items that carry none. */
  now: number;
}

export interface BuildResult {
  events: MemoryEvent[];
  /** Per-item errors, in request order. */
  rejected: ItemError[];
}

const ID = { type: 'string', minLength: 1, maxLength: 256 } as const;
const NAMESPACE = { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$' } as const;
const TYPE = { type: 'string', minLength: 1, maxLength: 64 } as const;
const TIMESTAMP = { type: ['string', 'number'] } as const;
/** Maximum number of elements in a coord array and of characters in a coord string. */
const MAX_COORD_LENGTH = 1024;

const FLAT_FIELDS = ['id', 'text', 'run_id', 'namespace', 'payload', 'type', 'importance', 'timestamp'];
const COORDINATE_FIELDS = ['coord', 'payload', 'type', 'namespace', 'id', 'run_id', 'importance', 'timestamp'];

const ajv = createAjv();
const validateFlat: ValidateFunction<FlatItem> = ajv.compile<FlatItem>({
  type: 'object',
  additionalProperties: false,
  required: ['text'],
  properties: {
    id: ID,
    text: { type: 'string', minLength: 1 },
    run_id: ID,
    namespace: NAMESPACE,
    payload: { type: 'object' },
    type: TYPE,
    importance: { type: 'number' },
    timestamp: TIMESTAMP,
  },
});
const validateCoordinate: ValidateFunction<CoordinateItem> = ajv.compile<CoordinateItem>({
  type: 'object',
  additionalProperties: false,
  required: ['coord', 'payload', 'type'],
  properties: {
    coord: {
      anyOf: [
        { type: 'array', items: { type: 'number' }, minItems: 1, maxItems: MAX_COORD_LENGTH },
        // A string coordinate is stored as sent; it needs one non-space character because it becomes the id.
        { type: 'string', minLength: 1, maxLength: MAX_COORD_LENGTH, pattern: '\\S' },
      ],
    },
    payload: { type: 'object' },
    type: TYPE,
    namespace: NAMESPACE,
    id: ID,
    run_id: ID,
    importance: { type: 'number' },
    timestamp: TIMESTAMP,
  },
});

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** Names what is wrong with a coord that matches neither accepted shape, including which length rule it breaks. */
function describeCoordError(coord: unknown): string {
  const shapes = 'an array of 1 to 1024 numbers, such as [1, 2.5, 3], or a string of 1 to 1024 characters such as "1,2.5,3"';
  let got = describeType(coord);
  if (Array.isArray(coord)) {
    if (coord.length === 0) got = 'an empty array';
    else if (coord.length > MAX_COORD_LENGTH) got = `an array of ${coord.length} elements, more than ${MAX_COORD_LENGTH}`;
    else {
      const index = coord.findIndex((element) => typeof element !== 'number');
      if (index !== -1) got = `an array whose element ${index} is ${describeType(coord[index])}`;
    }
  } else if (typeof coord === 'string') {
    const length = countCodePoints(coord);
    if (length > MAX_COORD_LENGTH) got = `a string of ${length} characters, more than ${MAX_COORD_LENGTH}`;
    else got = coord === '' ? 'an empty string' : 'a string of only white space';
  }
  return `field coord must be ${shapes}, got ${got}`;
}

/** Describes an item schema error in one sentence that names the field. */
function describeItemError(errors: ErrorObject[] | null | undefined, item: Record<string, unknown>, coordinate: boolean): string {
  // A failed anyOf lists the errors of its branches first; the anyOf error itself describes the field best.
  const error = errors?.find((entry) => entry.keyword === 'anyOf') ?? errors?.[0];
  if (error === undefined) return 'the item is invalid';
  switch (error.keyword) {
    case 'required':
      return coordinate
        ? `field ${String(error.params.missingProperty)} is missing; a coordinate item needs coord, payload and type`
        : `field ${String(error.params.missingProperty)} is missing; a flat item needs text (a string)`;
    case 'additionalProperties':
      return `unknown field ${quoteValue(String(error.params.additionalProperty))}; allowed fields are ${(coordinate ? COORDINATE_FIELDS : FLAT_FIELDS).join(', ')}`;
    case 'anyOf':
      return describeCoordError(item.coord);
    default:
      return describeAjvError(error, item);
  }
}

function textOf(item: StoreItem): { field: string; text: string } | undefined {
  if (!isCoordinateItem(item)) return { field: 'text', text: item.text };
  const text = item.payload.text;
  return typeof text === 'string' ? { field: 'payload.text', text } : undefined;
}

/** Validates one item; returns its error, or the event for it. */
function buildEvent(raw: unknown, index: number, options: BuildOptions, acceptedAt: string): ItemError | MemoryEvent {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return itemError('SOMA_ERR_ITEM_INVALID', { index, problem: `an item must be a JSON object, got ${typeName(raw)}` });
  }
  const record = raw as Record<string, unknown>;
  // Only a valid id is repeated in the `id` of the error entry; the message names an invalid one.
  const clientId = typeof record.id === 'string' && record.id.length <= ID.maxLength ? record.id : undefined;
  const coordinate = record.coord !== undefined;
  const validate = coordinate ? validateCoordinate : validateFlat;
  if (!validate(record)) {
    // ajv's number type excludes Infinity, so an out-of-range number gets the same code here as after validation.
    const numeric = inspectJson(record, 'item', MAX_JSON_DEPTH, { numbers: true });
    if (numeric?.kind === 'inexact-number') {
      return itemError('SOMA_ERR_ITEM_INVALID_NUMBER', { index, path: numeric.path, problem: numeric.problem }, clientId);
    }
    const problem = describeItemError(validate.errors, record, coordinate);
    return itemError('SOMA_ERR_ITEM_INVALID', { index, problem }, clientId);
  }
  const item = record as StoreItem;

  // The limit counts code points. A string has at least as many UTF-16 units as code points, so only longer ones are counted.
  const text = textOf(item);
  if (text !== undefined && text.text.length > options.maxTextLength) {
    const length = countCodePoints(text.text);
    if (length > options.maxTextLength) {
      return itemError('SOMA_ERR_ITEM_TEXT_TOO_LONG', { index, field: text.field, length, limit: options.maxTextLength }, clientId);
    }
  }
  const problem = inspectJson(record, 'item', MAX_JSON_DEPTH, { numbers: true });
  if (problem?.kind === 'too-deep') {
    return itemError('SOMA_ERR_ITEM_TOO_DEEP', { index, limit: MAX_JSON_DEPTH, path: problem.path }, clientId);
  }
  if (problem?.kind === 'invalid-string') {
    return itemError('SOMA_ERR_ITEM_INVALID_STRING', { index, path: problem.path, problem: problem.problem }, clientId);
  }
  if (problem?.kind === 'inexact-number') {
    return itemError('SOMA_ERR_ITEM_INVALID_NUMBER', { index, path: problem.path, problem: problem.problem }, clientId);
  }

  let timestamp = acceptedAt;
  if (item.timestamp !== undefined) {
    const verdict = normalizeTimestamp(item.timestamp);
    if (!verdict.ok) {
      const params = { index, value: JSON.stringify(item.timestamp), problem: verdict.problem };
      return itemError('SOMA_ERR_ITEM_INVALID_TIMESTAMP', params, clientId);
    }
    timestamp = verdict.value;
  }

  const normalized = normalizeItem(item, { namespace: options.defaultNamespace, generateId: randomUUID });
  const event: MemoryEvent = { event_id: randomUUID(), timestamp, ...normalized };
  const validateEvent = eventValidator();
  if (!validateEvent(event)) {
    const error = validateEvent.errors?.[0];
    const derivedId = coordinate && record.id === undefined && error?.instancePath === '/id';
    const problem = derivedId
      ? `the id made from coord, ${quoteValue(normalized.id)}, is longer than ${ID.maxLength} characters; send an id`
      : describeAjvError(error, event);
    return itemError('SOMA_ERR_ITEM_INVALID', { index, problem }, normalized.id.length <= ID.maxLength ? normalized.id : undefined);
  }
  return event;
}

/** Validates every item and builds the events of the valid ones; a repeated id keeps its first occurrence. */
export function buildEvents(items: readonly unknown[], options: BuildOptions): BuildResult {
  const acceptedAt = formatTimestamp(options.now);
  const events: MemoryEvent[] = [];
  const rejected: ItemError[] = [];
  const firstIndexById = new Map<string, number>();

  for (let index = 0; index < items.length; index++) {
    const result = buildEvent(items[index], index, options, acceptedAt);
    if ('code' in result) {
      rejected.push(result);
      continue;
    }
    const firstIndex = firstIndexById.get(result.id);
    if (firstIndex !== undefined) {
      rejected.push(itemError('SOMA_ERR_ITEM_DUPLICATE_ID', { index, id: result.id, firstIndex }, result.id));
      continue;
    }
    firstIndexById.set(result.id, index);
    events.push(result);
  }
  return { events, rejected };
}
