/**
 * The registry of every error the service reports. Each code has an HTTP
 * status, a message template that names the bad value and the fix, and a
 * `retriable` flag that marks whether the same request may succeed
 * later. service/ERRORS.md documents every code; errors.test.ts checks that.
 */
import { STATUS_CODES } from 'node:http';

/** One entry of a per-item error list (`rejected` or `errors` in a response). */
export interface ItemError {
  index: number;
  id?: string;
  code: ErrorCode;
  message: string;
}

interface ErrorDefinition<P> {
  statusCode: number;
  retriable: boolean;
  message: (params: P) => string;
}

function define<P = Record<string, never>>(
  statusCode: number,
  retriable: boolean,
  message: (params: P) => string,
): ErrorDefinition<P> {
  return { statusCode, retriable, message };
}

type Dependency = 'kafka' | 'postgres' | 'qdrant';

/** Maximum length, in characters, of a value that a message repeats in full. */
export const MAX_ECHOED_CHARS = 64;

/**
 * Quotes a client-supplied value for a message. A value longer than
 * MAX_ECHOED_CHARS keeps its first characters and its length, for example
 * `"aaaa"... (10000 characters)`, so a huge id cannot bloat the response or the log.
 */
export function quoteValue(value: string): string {
  const { text, suffix } = abbreviate(value);
  return JSON.stringify(text) + suffix;
}

/** Like quoteValue, for text the message shows without quotes, such as a path. */
export function echoValue(value: string): string {
  const { text, suffix } = abbreviate(value);
  return text + suffix;
}

function abbreviate(value: string): { text: string; suffix: string } {
  if (value.length <= MAX_ECHOED_CHARS) return { text: value, suffix: '' };
  // Never cut a surrogate pair in half.
  const high = value.charCodeAt(MAX_ECHOED_CHARS - 1);
  const end = high >= 0xd800 && high <= 0xdbff ? MAX_ECHOED_CHARS - 1 : MAX_ECHOED_CHARS;
  return { text: value.slice(0, end), suffix: `... (${countCodePoints(value)} characters)` };
}

/** Counts Unicode code points; a surrogate pair counts once and an unpaired surrogate counts once. */
export function countCodePoints(text: string): number {
  let pairs = 0;
  for (let index = 0; index < text.length - 1; index++) {
    const unit = text.charCodeAt(index);
    if (unit < 0xd800 || unit > 0xdbff) continue;
    const next = text.charCodeAt(index + 1);
    if (next >= 0xdc00 && next <= 0xdfff) {
      pairs++;
      index++;
    }
  }
  return text.length - pairs;
}

export const ERRORS = {
  SOMA_ERR_CONFIG_INVALID: define<{ key: string; value: string; problem: string }>(
    500,
    false,
    (p) => `environment variable ${p.key}=${p.value} is invalid: ${p.problem}`,
  ),

  SOMA_ERR_BODY_EMPTY: define(
    400,
    false,
    () => 'the request body is empty; send a JSON object, for example {"items":[{"text":"..."}]}',
  ),
  SOMA_ERR_BODY_INVALID_JSON: define<{ detail: string }>(
    400,
    false,
    (p) => `the request body is not valid JSON (${p.detail}); send a JSON object encoded as UTF-8`,
  ),
  SOMA_ERR_BODY_INVALID_ENCODING: define<{ offset: number; byte: number }>(
    400,
    false,
    (p) =>
      `the request body is not valid UTF-8 (invalid byte 0x${p.byte.toString(16).padStart(2, '0')} at byte offset ${p.offset}); ` +
      'encode the JSON text as UTF-8',
  ),
  SOMA_ERR_BODY_INVALID: define<{ problem: string }>(
    400,
    false,
    (p) => `the request body is invalid: ${p.problem}`,
  ),
  SOMA_ERR_BODY_TOO_LARGE: define<{ limit: number }>(
    413,
    false,
    (p) =>
      `the request body is larger than the limit of ${p.limit} bytes; ` +
      'send the items in smaller chunks or raise SOMA_MAX_BODY_BYTES',
  ),
  SOMA_ERR_BODY_FORBIDDEN_KEY: define<{ path: string }>(
    400,
    false,
    (p) =>
      `the request body contains the forbidden key ${echoValue(p.path)}; ` +
      '"__proto__" keys and "constructor" objects with a "prototype" key are rejected, rename the key',
  ),
  SOMA_ERR_BODY_UNSUPPORTED_MEDIA_TYPE: define<{ contentType: string }>(
    415,
    false,
    (p) => `content type ${quoteValue(p.contentType)} is not supported; send the body as application/json`,
  ),
  SOMA_ERR_BODY_UNSUPPORTED_CHARSET: define<{ charset: string }>(
    415,
    false,
    (p) => `charset ${quoteValue(p.charset)} is not supported; encode the JSON text as UTF-8 and send charset=utf-8 or no charset`,
  ),
  SOMA_ERR_BODY_UNSUPPORTED_ENCODING: define<{ encoding: string }>(
    415,
    false,
    (p) =>
      `Content-Encoding ${quoteValue(p.encoding)} is not supported; send the body uncompressed, ` +
      'without a Content-Encoding header or with Content-Encoding: identity',
  ),

  SOMA_ERR_HTTP_MALFORMED: define<{ detail: string }>(
    400,
    false,
    (p) => `the request is not valid HTTP/1.1 (${p.detail}); check the request line, the headers and the body framing`,
  ),
  SOMA_ERR_HTTP_HEADERS_TOO_LARGE: define<{ limit: number }>(
    431,
    false,
    (p) => `the request headers are larger than the limit of ${p.limit} bytes; send fewer or shorter headers`,
  ),
  SOMA_ERR_HTTP_REQUEST_TIMEOUT: define<{ timeoutMs: number }>(
    408,
    true,
    (p) =>
      `the request was not received completely within ${p.timeoutMs} ms; ` +
      'send the headers and the whole body without pausing, then retry',
  ),

  SOMA_ERR_BULK_EMPTY: define(
    400,
    false,
    () => 'items is an empty array; send at least one item',
  ),
  SOMA_ERR_BULK_TOO_LARGE: define<{ count: number; limit: number }>(
    413,
    false,
    (p) =>
      `the bulk request has ${p.count} items and the limit is ${p.limit}; ` +
      'send the items in chunks or raise SOMA_MAX_BULK_ITEMS',
  ),
  SOMA_ERR_BULK_ALL_REJECTED: define<{ count: number }>(
    400,
    false,
    (p) => `none of the ${p.count} items is valid; see errors for the problem with each item`,
  ),

  SOMA_ERR_ITEM_INVALID: define<{ index: number; problem: string }>(
    400,
    false,
    (p) => `item ${p.index}: ${p.problem}`,
  ),
  SOMA_ERR_ITEM_TEXT_TOO_LONG: define<{ index: number; field: string; length: number; limit: number }>(
    400,
    false,
    (p) =>
      `item ${p.index}: ${p.field} has ${p.length} characters (Unicode code points) and the limit is ${p.limit}; ` +
      'split the text into several items or raise SOMA_MAX_TEXT_LENGTH',
  ),
  SOMA_ERR_ITEM_INVALID_STRING: define<{ index: number; path: string; problem: string }>(
    400,
    false,
    (p) =>
      `item ${p.index}: the string at ${echoValue(p.path)} contains ${p.problem}, which Postgres jsonb cannot store; ` +
      'remove the character or encode the data, for example as base64',
  ),
  SOMA_ERR_ITEM_INVALID_NUMBER: define<{ index: number; path: string; problem: string }>(
    400,
    false,
    (p) =>
      `item ${p.index}: ${echoValue(p.path)} is ${p.problem}, so it would not be stored as sent; ` +
      'send the value as a string, such as "12345678901234567890"',
  ),
  SOMA_ERR_ITEM_TOO_DEEP: define<{ index: number; limit: number; path: string }>(
    400,
    false,
    (p) =>
      `item ${p.index}: ${echoValue(p.path)} is nested more than ${p.limit} levels deep and the limit is ${p.limit} levels ` +
      '(the item object is level 1, its payload level 2); flatten the payload',
  ),
  SOMA_ERR_ITEM_INVALID_TIMESTAMP: define<{ index: number; value: string; problem: string }>(
    400,
    false,
    (p) =>
      `item ${p.index}: timestamp ${echoValue(p.value)} is invalid (${p.problem}); send an ISO 8601 date-time ` +
      'with an offset, such as 2025-09-27T12:34:56.789+00:00, or epoch seconds or milliseconds',
  ),
  SOMA_ERR_ITEM_TOO_LARGE: define<{ index: number; bytes: number; limit: number }>(
    413,
    false,
    (p) =>
      `item ${p.index}: its Kafka message is ${p.bytes} bytes and the limit is ${p.limit} bytes; ` +
      'make the item smaller or raise SOMA_KAFKA_MAX_MESSAGE_BYTES together with the topic\'s max.message.bytes, which must exceed it',
  ),
  SOMA_ERR_ITEM_DUPLICATE_ID: define<{ index: number; id: string; firstIndex: number }>(
    400,
    false,
    (p) =>
      `item ${p.index}: id ${quoteValue(p.id)} already appears at index ${p.firstIndex} of this request; ` +
      'the first occurrence is stored, send each id once per request',
  ),

  SOMA_ERR_AUTH_MISSING_TOKEN: define<{ problem: string }>(
    401,
    false,
    (p) => `${p.problem}; send "Authorization: Bearer <token>" with the SOMA_API_TOKEN value`,
  ),
  SOMA_ERR_AUTH_INVALID_SCHEME: define<{ got: string }>(
    401,
    false,
    (p) => `expected "Authorization: Bearer <token>", got ${p.got}; send the SOMA_API_TOKEN value as a bearer token`,
  ),
  SOMA_ERR_AUTH_INVALID_TOKEN: define(
    403,
    false,
    () => 'the bearer token is wrong; send the token configured in SOMA_API_TOKEN',
  ),

  SOMA_ERR_DEPENDENCY_UNAVAILABLE: define<{ dependency: Dependency; detail: string; effect?: string }>(
    503,
    true,
    (p) => `${p.dependency} is unavailable (${p.detail}); ${p.effect ?? 'nothing was stored, retry the request later'}`,
  ),
  SOMA_ERR_KAFKA_PRODUCE_FAILED: define<{ topic: string; detail: string }>(
    503,
    true,
    (p) =>
      `publishing to Kafka topic ${p.topic} failed (${p.detail}); the items are not acknowledged, ` +
      'retry the request with the same ids',
  ),
  SOMA_ERR_KAFKA_MESSAGE_REJECTED: define<{ topic: string; id: string; bytes: number; limit: number; detail: string }>(
    500,
    false,
    (p) =>
      `Kafka topic ${p.topic} rejected the message of item ${quoteValue(p.id)} (${p.bytes} bytes; ${p.detail}); ` +
      'a retry fails the same way. The message is within SOMA_KAFKA_MAX_MESSAGE_BYTES ' +
      `(${p.limit}), so check that the topic's max.message.bytes and the brokers' message.max.bytes exceed it`,
  ),
  SOMA_ERR_STORE_WRITE_FAILED: define<{ store: 'postgres' | 'qdrant'; detail: string }>(
    503,
    true,
    (p) =>
      `writing to ${p.store} failed (${p.detail}); the items are not acknowledged, ` +
      'retry the request with the same ids',
  ),
  SOMA_ERR_SERVICE_DRAINING: define(
    503,
    true,
    () => 'the service is shutting down; retry the request against another instance',
  ),

  SOMA_ERR_RECALL_INVALID: define<{ problem: string }>(
    400,
    false,
    (p) => `the recall request is invalid: ${p.problem}`,
  ),
  SOMA_ERR_RECALL_REJECTED: define<{ status: number; reason: string }>(
    400,
    false,
    (p) => `Qdrant rejected the search with status ${p.status} (${p.reason}); change the filter or the namespace`,
  ),
  SOMA_ERR_MEMORY_INVALID_ID: define<{ problem: string }>(
    400,
    false,
    (p) => `the memory id is invalid: ${p.problem}; ids are 1 to 256 characters without \\u0000 or unpaired surrogates`,
  ),
  SOMA_ERR_MEMORY_NOT_FOUND: define<{ id: string }>(
    404,
    false,
    (p) => `no memory with id ${quoteValue(p.id)} is stored; check the id, or retry if it was stored just now`,
  ),
  SOMA_ERR_ROUTE_NOT_FOUND: define<{ method: string; url: string }>(
    404,
    false,
    (p) => `route ${p.method} ${echoValue(p.url)} does not exist; see the service README for the routes`,
  ),
  SOMA_ERR_ROUTE_URL_TOO_LONG: define<{ url: string; limit: number }>(
    414,
    false,
    (p) => `a path segment of ${echoValue(p.url)} is longer than ${p.limit} characters; ids have at most 256 characters`,
  ),
  SOMA_ERR_ROUTE_INVALID_URL: define<{ url: string }>(
    400,
    false,
    (p) => `the path ${echoValue(p.url)} is not a valid URL path; percent-encode the id, for example with encodeURIComponent`,
  ),
  SOMA_ERR_ROUTE_METHOD_NOT_ALLOWED: define<{ method: string; url: string; allowed: string[] }>(
    405,
    false,
    (p) => `method ${p.method} is not allowed on ${echoValue(p.url)}; use ${p.allowed.join(' or ')}`,
  ),
  SOMA_ERR_SERVICE_INTERNAL: define<{ requestId: string }>(
    500,
    false,
    (p) => `an internal error occurred; the service log has the details under reqId ${p.requestId}`,
  ),
} as const;

export type ErrorCode = keyof typeof ERRORS;
export type ErrorParams<C extends ErrorCode> = Parameters<(typeof ERRORS)[C]['message']>[0];

export interface SomaErrorOptions {
  cause?: unknown;
  errors?: ItemError[];
}

/** An error with a registry code; the HTTP error handler turns it into the documented error body. */
export class SomaError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly retriable: boolean;
  readonly errors: ItemError[] | undefined;

  constructor(code: ErrorCode, message: string, options: SomaErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SomaError';
    this.code = code;
    this.statusCode = ERRORS[code].statusCode;
    this.retriable = ERRORS[code].retriable;
    this.errors = options.errors;
  }
}

/** Formats the registry message for `code`. */
export function formatMessage<C extends ErrorCode>(code: C, params: ErrorParams<C>): string {
  const format = ERRORS[code].message as (p: ErrorParams<C>) => string;
  return format(params);
}

/** Creates a SomaError with the registry message for `code`. */
export function somaError<C extends ErrorCode>(
  code: C,
  params: ErrorParams<C>,
  options?: SomaErrorOptions,
): SomaError {
  return new SomaError(code, formatMessage(code, params), options);
}

/** Creates the per-item error entry for a rejected item. */
export function itemError<C extends ErrorCode>(
  code: C,
  params: ErrorParams<C> & { index: number },
  id?: string,
): ItemError {
  const entry: ItemError = { index: params.index, code, message: formatMessage(code, params) };
  if (id !== undefined) entry.id = id;
  return entry;
}

/** The JSON body of every non-2xx response. */
export interface ErrorBody {
  statusCode: number;
  code: string;
  error: string;
  message: string;
  errors?: ItemError[];
}

export function toErrorBody(error: SomaError): ErrorBody {
  const body: ErrorBody = {
    statusCode: error.statusCode,
    code: error.code,
    error: STATUS_CODES[error.statusCode] ?? 'Error',
    message: error.message,
  };
  if (error.errors !== undefined) body.errors = error.errors;
  return body;
}
