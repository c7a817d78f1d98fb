/**
 * Validates request items one by one and builds the events for the valid
 * ones. An invalid item is reported by its index and never stops its
 * neighbours; the caller decides what to do when none is valid.
 */
import { randomUUID } from 'node:crypto';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { itemError, type ItemError } from '../errors.js';
import { createAjv } from './ajv.js';
import { inspectJson, MAX_JSON_DEPTH } from './json-inspect.js';
import { isCoordinateItem, normalizeItem, type CoordinateItem, type FlatItem, type StoreItem } from './normalize-item.js';
import { describeValidationError, eventValidator, type MemoryEvent } from './schema.js';
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
        { type: 'array', items: { type: 'number' }, minItems: 1, maxItems: 1024 },
        { type: 'string', minLength: 1, maxLength: 1024 },
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

/** Describes an item schema error in one sentence that names the field. */
function describeItemError(error: ErrorObject | undefined, item: Record<string, unknown>, coordinate: boolean): string {
  if (error === undefined) return 'the item is invalid';
  const field = error.instancePath.slice(1).replaceAll('/', '.');
  const topField = field.split('.')[0] ?? field;
  const value = item[topField];

  switch (error.keyword) {
    case 'required':
      return coordinate
        ? `field ${String(error.params.missingProperty)} is missing; a coordinate item needs coord, payload and type`
        : `field ${String(error.params.missingProperty)} is missing; a flat item needs text (a string)`;
    case 'additionalProperties':
      return `unknown field ${String(error.params.additionalProperty)}; allowed fields are ${(coordinate ? COORDINATE_FIELDS : FLAT_FIELDS).join(', ')}`;
    case 'type':
      return `field ${field} must be ${String(error.params.type).replace(',', ' or ')}, got ${typeName(field === topField ? value : undefined)}`;
    case 'pattern':
      return `field ${field} ${JSON.stringify(value)} is invalid; use letters, digits, '_', '.' and '-', starting with a letter or digit`;
    case 'anyOf':
      return `field ${field} must be an array of numbers or a non-empty string, got ${typeName(value)}`;
    default:
      return `field ${field} ${error.message ?? 'is invalid'}`;
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
  const clientId = typeof record.id === 'string' ? record.id : undefined;
  const coordinate = record.coord !== undefined;
  const validate = coordinate ? validateCoordinate : validateFlat;
  if (!validate(record)) {
    const problem = describeItemError(validate.errors?.[0], record, coordinate);
    return itemError('SOMA_ERR_ITEM_INVALID', { index, problem }, clientId);
  }
  const item = record as StoreItem;

  const text = textOf(item);
  if (text !== undefined && text.text.length > options.maxTextLength) {
    const params = { index, field: text.field, length: text.text.length, limit: options.maxTextLength };
    return itemError('SOMA_ERR_ITEM_TEXT_TOO_LONG', params, clientId);
  }
  const problem = inspectJson(record, 'item', MAX_JSON_DEPTH);
  if (problem?.kind === 'too-deep') {
    return itemError('SOMA_ERR_ITEM_TOO_DEEP', { index, limit: MAX_JSON_DEPTH }, clientId);
  }
  if (problem?.kind === 'invalid-string') {
    return itemError('SOMA_ERR_ITEM_INVALID_STRING', { index, path: problem.path, problem: problem.problem }, clientId);
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
    return itemError('SOMA_ERR_ITEM_INVALID', { index, problem: describeValidationError(validateEvent) }, normalized.id);
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
