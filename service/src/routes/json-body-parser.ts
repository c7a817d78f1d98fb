/**
 * The request body parser. It replaces fastify's JSON parser so that:
 * - a body over the limit gets a readable 413: the parser keeps reading and
 *   discarding the body before it replies, with or without a Content-Length
 *   header, so the client never meets a reset connection while it is still
 *   sending (up to DRAIN_LIMIT_FACTOR times the limit);
 * - empty, whitespace-only and malformed bodies get 400 with the parse error;
 * - a body that is not valid UTF-8 gets 400 with the offset of the first
 *   invalid byte, instead of having the byte replaced with U+FFFD;
 * - a UTF-8 byte order mark at the start is skipped, as RFC 8259 section 8.1
 *   allows a parser to do;
 * - `__proto__` keys and `constructor.prototype` anywhere in the body are
 *   rejected with 400 naming their path (the whole request is rejected;
 *   nothing is stripped, because stripping would silently change the data);
 * - other content types get 415 after their body is drained;
 * - a Content-Encoding other than identity (such as gzip) and a charset
 *   other than utf-8 get 415 before the body is read, because the body could
 *   not be decoded anyway;
 * - a request for an unknown route or method gets its 404 or 405 whatever its
 *   body holds: the body is drained and not parsed.
 */
import { isUtf8 } from 'node:buffer';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { somaError, type SomaError } from '../errors.js';
import { findForbiddenKey } from '../events/json-inspect.js';

/** Bodies up to this multiple of the limit are read to the end before the 413; larger ones are cut off. */
export const DRAIN_LIMIT_FACTOR = 64;

type Done = (error: Error | null, body?: unknown) => void;

const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/**
 * Returns the offset of the first invalid UTF-8 sequence (RFC 3629): a bad
 * lead byte, or a lead byte without its continuation bytes, of an overlong
 * form, of a surrogate or of a code point above U+10FFFF. Returns -1 for valid UTF-8.
 */
export function firstInvalidUtf8Offset(bytes: Uint8Array): number {
  let index = 0;
  while (index < bytes.length) {
    const lead = bytes[index] as number;
    if (lead < 0x80) {
      index++;
      continue;
    }
    let length: number;
    let min: number;
    if (lead >= 0xc2 && lead <= 0xdf) [length, min] = [2, 0x80];
    else if (lead >= 0xe0 && lead <= 0xef) [length, min] = [3, 0x800];
    else if (lead >= 0xf0 && lead <= 0xf4) [length, min] = [4, 0x10000];
    else return index;

    let codePoint = lead & (0xff >> (length + 1));
    for (let offset = 1; offset < length; offset++) {
      const next = bytes[index + offset];
      if (next === undefined || (next & 0xc0) !== 0x80) return index;
      codePoint = (codePoint << 6) | (next & 0x3f);
    }
    if (codePoint < min || codePoint > 0x10ffff || (codePoint >= 0xd800 && codePoint <= 0xdfff)) return index;
    index += length;
  }
  return -1;
}

/** Decodes a body as UTF-8 without a leading byte order mark; throws SOMA_ERR_BODY_INVALID_ENCODING for invalid bytes. */
export function decodeBody(bytes: Buffer): string {
  const body = bytes.subarray(0, 3).equals(UTF8_BOM) ? bytes.subarray(3) : bytes;
  if (!isUtf8(body)) {
    const relative = firstInvalidUtf8Offset(body);
    const offset = relative + (body === bytes ? 0 : UTF8_BOM.length);
    throw somaError('SOMA_ERR_BODY_INVALID_ENCODING', { offset, byte: bytes[offset] ?? 0 });
  }
  return body.toString('utf8');
}

function readBody(
  request: FastifyRequest,
  payload: NodeJS.ReadableStream,
  limit: number,
  done: (error: SomaError | null, bytes?: Buffer) => void,
): void {
  const declared = Number(request.headers['content-length']);
  const drainLimit = limit * DRAIN_LIMIT_FACTOR;
  const chunks: Buffer[] = [];
  let received = 0;
  let tooLarge = Number.isFinite(declared) && declared > limit;
  let finished = false;

  function finish(error: SomaError | null, bytes?: Buffer): void {
    if (finished) return;
    finished = true;
    payload.removeListener('data', onData);
    payload.removeListener('end', onEnd);
    payload.removeListener('error', onError);
    done(error, bytes);
  }

  function onData(chunk: Buffer): void {
    received += chunk.length;
    if (received > drainLimit) {
      // The body is too large to drain, so reply now and close the connection after the reply.
      finish(somaError('SOMA_ERR_BODY_TOO_LARGE', { limit }));
      payload.resume();
      return;
    }
    if (received > limit) tooLarge = true;
    if (!tooLarge) chunks.push(chunk);
  }

  function onEnd(): void {
    if (tooLarge) {
      finish(somaError('SOMA_ERR_BODY_TOO_LARGE', { limit }));
      return;
    }
    finish(null, chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
  }

  function onError(error: Error): void {
    finish(somaError('SOMA_ERR_BODY_INVALID_JSON', { detail: `the body could not be read: ${error.message}` }));
  }

  if (Number.isFinite(declared) && declared > drainLimit) {
    finish(somaError('SOMA_ERR_BODY_TOO_LARGE', { limit }));
    payload.resume();
    return;
  }
  payload.on('data', onData);
  payload.on('end', onEnd);
  payload.on('error', onError);
}

/** Parses a JSON body; exported for tests. */
export function parseJsonText(text: string): unknown {
  if (text.trim() === '') throw somaError('SOMA_ERR_BODY_EMPTY', {});
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw somaError('SOMA_ERR_BODY_INVALID_JSON', { detail: (error as Error).message }, { cause: error });
  }
  // Forbidden keys can only appear literally or through \u escapes, so most bodies skip the walk.
  if (text.includes('__proto__') || text.includes('constructor') || text.includes('\\u')) {
    const path = findForbiddenKey(body, 'body');
    if (path !== undefined) throw somaError('SOMA_ERR_BODY_FORBIDDEN_KEY', { path });
  }
  return body;
}

/** Returns the first Content-Encoding other than identity, such as `gzip`, or undefined. */
export function unsupportedContentEncoding(header: string | string[] | undefined): string | undefined {
  const codings = [header ?? ''].flat().flatMap((value) => value.split(','));
  return codings.map((coding) => coding.trim()).find((coding) => coding !== '' && coding.toLowerCase() !== 'identity');
}

const UTF8_CHARSETS = new Set(['utf-8', 'utf8']);

/** Returns the charset parameter of a Content-Type header when it names another charset than UTF-8, or undefined. */
export function unsupportedCharset(contentType: string | undefined): string | undefined {
  for (const parameter of (contentType ?? '').split(';').slice(1)) {
    const separator = parameter.indexOf('=');
    if (separator === -1 || parameter.slice(0, separator).trim().toLowerCase() !== 'charset') continue;
    // RFC 9110 allows the value as a token or a quoted string.
    const charset = parameter.slice(separator + 1).trim().replace(/^"(.*)"$/, '$1');
    // `utf8` is not an IANA name but names the same encoding, and some clients send it.
    if (!UTF8_CHARSETS.has(charset.toLowerCase())) return charset;
  }
  return undefined;
}

/** Returns the 415 for a body this parser cannot decode, judged from the headers alone. */
function undecodableBodyError(request: FastifyRequest): SomaError | undefined {
  const encoding = unsupportedContentEncoding(request.headers['content-encoding']);
  if (encoding !== undefined) return somaError('SOMA_ERR_BODY_UNSUPPORTED_ENCODING', { encoding });
  const charset = unsupportedCharset(request.headers['content-type']);
  if (charset !== undefined) return somaError('SOMA_ERR_BODY_UNSUPPORTED_CHARSET', { charset });
  return undefined;
}

export function registerJsonBodyParser(app: FastifyInstance, maxBodyBytes: number): void {
  app.removeAllContentTypeParsers();

  app.addContentTypeParser('application/json', (request: FastifyRequest, payload: NodeJS.ReadableStream, done: Done) => {
    // Node's HTTP server reads and discards the unread body after the reply, so the client still gets the 415.
    const undecodable = request.is404 ? undefined : undecodableBodyError(request);
    if (undecodable !== undefined) return done(undecodable);
    readBody(request, payload, maxBodyBytes, (error, bytes) => {
      if (error !== null) return done(error);
      if (request.is404) return done(null, undefined);
      try {
        done(null, parseJsonText(decodeBody(bytes ?? Buffer.alloc(0))));
      } catch (parseError) {
        done(parseError as Error);
      }
    });
  });

  app.addContentTypeParser('*', (request: FastifyRequest, payload: NodeJS.ReadableStream, done: Done) => {
    readBody(request, payload, maxBodyBytes, (error) => {
      if (error !== null) return done(error);
      if (request.is404) return done(null, undefined);
      const contentType = request.headers['content-type'] ?? '(none)';
      done(somaError('SOMA_ERR_BODY_UNSUPPORTED_MEDIA_TYPE', { contentType }));
    });
  });
}
