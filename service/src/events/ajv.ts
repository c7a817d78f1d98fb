/**
 * The one ajv configuration used for request items and events: no type
 * coercion, no removal of properties and no defaults, so validation never
 * changes the data it checks.
 */
import { Ajv, type ErrorObject } from 'ajv';
import formatsPlugin from 'ajv-formats';
import { fullFormats } from 'ajv-formats/dist/formats.js';
import { quoteValue } from '../errors.js';
import { numberProblem } from './json-inspect.js';

// ajv-formats is CommonJS; under NodeNext its default import is module.exports, the plugin itself.
const addFormats = formatsPlugin as unknown as (ajv: Ajv, formats: string[]) => Ajv;

interface StringFormat {
  validate: (value: string) => boolean;
  compare: (first: string, second: string) => number | undefined;
}

const DATE_TIME = fullFormats['date-time'] as StringFormat;

/**
 * Wraps a pure string check so that a value equal to the previous one reuses
 * its result. The events of one request share one acceptance timestamp, so
 * consecutive events mostly carry the same `timestamp`.
 */
export function rememberLastResult(check: (value: string) => boolean): (value: string) => boolean {
  let lastValue: string | undefined;
  let lastResult = false;
  return (value) => {
    if (value !== lastValue) {
      lastResult = check(value);
      lastValue = value;
    }
    return lastResult;
  };
}

export function createAjv(): Ajv {
  const ajv = new Ajv({
    allErrors: false,
    coerceTypes: false,
    removeAdditional: false,
    useDefaults: false,
    strict: true,
    allowUnionTypes: true,
  });
  addFormats(ajv, ['uuid']);
  // ajv-formats' full RFC 3339 date-time check, the same rule as addFormats(ajv, ['date-time']).
  ajv.addFormat('date-time', { type: 'string', validate: rememberLastResult(DATE_TIME.validate), compare: DATE_TIME.compare });
  return ajv;
}

const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]*$';

/** Turns an ajv instancePath such as `/payload/tags/0` into `payload.tags[0]`. */
export function fieldPath(instancePath: string): string {
  let path = '';
  for (const raw of instancePath.split('/').slice(1)) {
    const segment = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (/^\d+$/.test(segment)) path += `[${segment}]`;
    else if (path === '') path = segment;
    else path += `.${segment}`;
  }
  return path;
}

function valueAt(data: unknown, instancePath: string): unknown {
  let current = data;
  for (const raw of instancePath.split('/').slice(1)) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[raw.replaceAll('~1', '/').replaceAll('~0', '~')];
  }
  return current;
}

/** Names the JSON type of a value with its article, such as "an array" or "a string". */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  // JSON.parse has already changed such a number, so it is described instead of repeated.
  if (typeof value === 'number' && numberProblem(value) !== undefined) return numberProblem(value) as string;
  if (typeof value === 'number' && !Number.isInteger(value)) return `the number ${value}`;
  return `a ${typeof value}`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function expectedTypes(type: unknown): string {
  const names = (Array.isArray(type) ? type : [type]).map((name) => {
    if (name === 'integer' || name === 'array' || name === 'object') return `an ${name}`;
    return name === 'null' ? 'null' : `a ${String(name)}`;
  });
  return names.join(' or ');
}

/**
 * Describes one ajv error in a plain sentence that names the field path and
 * the limit, such as "field text must not be empty", in place of ajv's own
 * wording. `data` is the validated value, so the sentence can name what was sent.
 */
export function describeAjvError(error: ErrorObject | undefined, data: unknown): string {
  if (error === undefined) return 'the value is invalid';
  const path = fieldPath(error.instancePath);
  const field = path === '' ? 'the value' : `field ${path}`;
  const value = valueAt(data, error.instancePath);
  const params = error.params as Record<string, unknown>;
  const limit = Number(params.limit);

  switch (error.keyword) {
    case 'required':
      return `field ${path === '' ? '' : `${path}.`}${String(params.missingProperty)} is missing`;
    case 'additionalProperties':
      return `unknown field ${path === '' ? '' : `${path}.`}${String(params.additionalProperty)}`;
    case 'type':
      return `${field} must be ${expectedTypes(params.type)}, got ${describeType(value)}`;
    case 'minItems':
      return `${field} must hold at least ${plural(limit, 'item')}`;
    case 'maxItems':
      return `${field} holds ${Array.isArray(value) ? value.length : 'more'} items and the limit is ${limit}`;
    case 'minLength':
      return limit === 1 ? `${field} must not be empty` : `${field} must have at least ${plural(limit, 'character')}`;
    case 'maxLength':
      // ajv counts code points, like the text length limit.
      return `${field} has ${typeof value === 'string' ? [...value].length : 'more'} characters and the limit is ${limit}`;
    case 'minimum':
      return `${field} must be at least ${limit}, got ${String(value)}`;
    case 'maximum':
      return `${field} must be at most ${limit}, got ${String(value)}`;
    case 'format':
      return `${field} must be a ${String(params.format)} string, got ${typeof value === 'string' ? quoteValue(value) : describeType(value)}`;
    case 'enum':
      return `${field} must be one of ${(params.allowedValues as unknown[]).map((allowed) => JSON.stringify(allowed)).join(', ')}`;
    case 'pattern':
      if (params.pattern === NAME_PATTERN) {
        return `${field} ${quoteValue(String(value))} is invalid; use letters, digits, '_', '.' and '-', starting with a letter or digit`;
      }
      return `${field} ${quoteValue(String(value))} does not match the pattern ${String(params.pattern)}`;
    default:
      return `${field} is invalid (${error.message ?? error.keyword})`;
  }
}
