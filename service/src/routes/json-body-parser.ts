/**
 * The request body parser. It replaces fastify's JSON parser so that:
 * - a body over the limit gets a readable 413: the parser keeps reading and
 *   discarding the body before it replies, with or without a Content-Length
 *   header, so the client never meets a reset connection while it is still
 *   sending (up to DRAIN_LIMIT_FACTOR times the limit);
 * - empty, whitespace-only and malformed bodies get 400 with the parse error;
 * - `__proto__` keys and `constructor.prototype` anywhere in the body are
 *   rejected with 400 naming their path (the whole request is rejected;
 *   nothing is stripped, because stripping would silently change the data);
 * - other content types get 415 after their body is drained.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { somaError, type SomaError } from '../errors.js';
import { findForbiddenKey } from '../events/json-inspect.js';

/** Bodies up to this multiple of the limit are read to the end before the 413; larger ones are cut off. */
export const DRAIN_LIMIT_FACTOR = 64;

type Done = (error: Error | null, body?: unknown) => void;

function readBody(
  request: FastifyRequest,
  payload: NodeJS.ReadableStream,
  limit: number,
  done: (error: SomaError | null, text?: string) => void,
): void {
  const declared = Number(request.headers['content-length']);
  const drainLimit = limit * DRAIN_LIMIT_FACTOR;
  const chunks: Buffer[] = [];
  let received = 0;
  let tooLarge = Number.isFinite(declared) && declared > limit;
  let finished = false;

  function finish(error: SomaError | null, text?: string): void {
    if (finished) return;
    finished = true;
    payload.removeListener('data', onData);
    payload.removeListener('end', onEnd);
    payload.removeListener('error', onError);
    done(error, text);
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
    finish(null, chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8'));
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

export function registerJsonBodyParser(app: FastifyInstance, maxBodyBytes: number): void {
  app.removeAllContentTypeParsers();

  app.addContentTypeParser('application/json', (request: FastifyRequest, payload: NodeJS.ReadableStream, done: Done) => {
    readBody(request, payload, maxBodyBytes, (error, text) => {
      if (error !== null) return done(error);
      try {
        done(null, parseJsonText(text ?? ''));
      } catch (parseError) {
        done(parseError as Error);
      }
    });
  });

  app.addContentTypeParser('*', (request: FastifyRequest, payload: NodeJS.ReadableStream, done: Done) => {
    readBody(request, payload, maxBodyBytes, (error) => {
      const contentType = request.headers['content-type'] ?? '(none)';
      done(error ?? somaError('SOMA_ERR_BODY_UNSUPPORTED_MEDIA_TYPE', { contentType }));
    });
  });
}
