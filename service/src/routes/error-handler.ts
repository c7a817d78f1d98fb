/**
 * Turns every error into the documented error body
 * `{statusCode, code, error, message, errors?}` and logs it once (see
 * logSentError for the levels). Each of these lines carries the
 * method, the path (never the query string), the status code and the
 * SOMA_ERR code. A known path asked with another method gets 405 with `Allow`.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { maxHeaderSize, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { SomaError, somaError, toErrorBody, type ErrorCode } from '../errors.js';

/** Seconds a client should wait before retrying a 503. */
export const RETRY_AFTER_SECONDS = 1;

/** The SOMA_ERR code sent to each request that failed, for the 'request completed' log line. */
const sentCodes = new WeakMap<FastifyRequest, ErrorCode>();

/** Returns the SOMA_ERR code of the error body sent to `request`, if any. */
export function sentErrorCode(request: FastifyRequest): ErrorCode | undefined {
  return sentCodes.get(request);
}

/** Returns the request path without its query string, which may contain secrets. */
export function requestPath(request: FastifyRequest): string {
  return request.url.split('?', 1)[0] ?? '';
}

function toSomaError(error: FastifyError | Error, request: FastifyRequest, maxBodyBytes: number): SomaError {
  if (error instanceof SomaError) return error;
  const code = (error as FastifyError).code;
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return somaError('SOMA_ERR_BODY_TOO_LARGE', { limit: maxBodyBytes }, { cause: error });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return somaError('SOMA_ERR_BODY_EMPTY', {}, { cause: error });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return somaError('SOMA_ERR_BODY_UNSUPPORTED_MEDIA_TYPE', { contentType: request.headers['content-type'] ?? '(none)' });
    default:
      break;
  }
  const statusCode = (error as FastifyError).statusCode;
  if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) {
    return somaError('SOMA_ERR_BODY_INVALID', { problem: error.message }, { cause: error });
  }
  return somaError('SOMA_ERR_SERVICE_INTERNAL', { requestId: String(request.id) }, { cause: error });
}

/**
 * Logs an error response once. 4xx and the drain's 503 are expected and go at
 * info. Other retriable 503s (a dependency down, a failed Kafka send or store
 * write) go at warn with the message and the cause's message but no stack, because the client
 * retries them and the message already names the dependency. Every other 5xx
 * is unexpected and goes at error with the original error and its stack.
 */
function logSentError(soma: SomaError, request: FastifyRequest): void {
  const fields = { method: request.method, url: requestPath(request), statusCode: soma.statusCode, code: soma.code };
  if (soma.statusCode < 500 || soma.code === 'SOMA_ERR_SERVICE_DRAINING') {
    request.log.info(fields, soma.statusCode < 500 ? 'request rejected' : 'request failed');
  } else if (soma.statusCode === 503 && soma.retriable) {
    const cause = soma.cause instanceof Error ? { cause: soma.cause.message } : {};
    request.log.warn({ ...fields, reason: soma.message, ...cause }, 'request failed');
  } else {
    request.log.error({ ...fields, err: soma.cause ?? soma }, 'request failed');
  }
}

function sendError(soma: SomaError, request: FastifyRequest, reply: FastifyReply): void {
  logSentError(soma, request);

  sentCodes.set(request, soma.code);
  if (soma.statusCode === 503) reply.header('retry-after', String(RETRY_AFTER_SECONDS));
  if (soma.statusCode === 401) reply.header('www-authenticate', 'Bearer');
  reply.code(soma.statusCode).send(toErrorBody(soma));
}

/**
 * Longest path parameter the router accepts, in characters as sent. An id has
 * at most 256 code points, and a percent-encoded code point takes up to 12
 * characters (4 UTF-8 bytes as %XX).
 */
export const MAX_PARAM_LENGTH = 256 * 12;

/**
 * The fastify `frameworkErrors` handler: an over-long path parameter or an
 * undecodable path gets the standard error body instead of fastify's, which
 * repeats the whole path.
 */
export function handleFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const url = requestPath(request);
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    sendError(somaError('SOMA_ERR_ROUTE_URL_TOO_LONG', { url, limit: MAX_PARAM_LENGTH }), request, reply);
  } else if (error.code === 'FST_ERR_BAD_URL') {
    sendError(somaError('SOMA_ERR_ROUTE_INVALID_URL', { url }), request, reply);
  } else {
    sendError(somaError('SOMA_ERR_SERVICE_INTERNAL', { requestId: String(request.id) }, { cause: error }), request, reply);
  }
}

/** Route paths by method, matched segment by segment; `:name` matches any one segment. */
function createRouteTable(): { add(method: string, url: string): void; methodsFor(path: string): string[] } {
  const routes: { method: string; segments: string[] }[] = [];

  function matches(segments: string[], path: string[]): boolean {
    if (segments.length !== path.length) return false;
    return segments.every((segment, index) => segment.startsWith(':') ? path[index] !== '' : segment === path[index]);
  }

  return {
    add(method, url) {
      routes.push({ method, segments: url.split('/') });
    },
    methodsFor(path) {
      const parts = path.split('/');
      const methods = routes.filter((route) => matches(route.segments, parts)).map((route) => route.method);
      return [...new Set(methods)].sort();
    },
  };
}

export function registerErrorHandlers(app: FastifyInstance, maxBodyBytes: number): void {
  const routes = createRouteTable();
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.add(method, route.url);
  });

  app.setErrorHandler((error: FastifyError | Error, request, reply) => {
    sendError(toSomaError(error, request, maxBodyBytes), request, reply);
  });

  app.setNotFoundHandler((request, reply) => {
    const url = requestPath(request);
    const allowed = routes.methodsFor(url);
    if (allowed.length === 0) {
      sendError(somaError('SOMA_ERR_ROUTE_NOT_FOUND', { method: request.method, url }), request, reply);
      return;
    }
    reply.header('allow', allowed.join(', '));
    sendError(somaError('SOMA_ERR_ROUTE_METHOD_NOT_ALLOWED', { method: request.method, url, allowed }), request, reply);
  });
}

/** Maps an error of Node's HTTP parser or request timers to the SomaError sent to the client. */
function clientErrorToSomaError(error: NodeJS.ErrnoException, requestTimeoutMs: number): SomaError {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT' || error.code === 'ERR_HTTP_HEADERS_TIMEOUT') {
    return somaError('SOMA_ERR_HTTP_REQUEST_TIMEOUT', { timeoutMs: requestTimeoutMs }, { cause: error });
  }
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    return somaError('SOMA_ERR_HTTP_HEADERS_TOO_LARGE', { limit: maxHeaderSize }, { cause: error });
  }
  // llhttp errors carry a reason such as "Invalid method encountered".
  const reason = (error as { reason?: unknown }).reason;
  const detail = typeof reason === 'string' && reason !== '' ? reason : error.message;
  return somaError('SOMA_ERR_HTTP_MALFORMED', { detail: error.code === undefined ? detail : `${error.code}: ${detail}` }, { cause: error });
}

/**
 * Builds the fastify `clientErrorHandler`. Node's HTTP server calls it for
 * requests that never reach a route: unparsable HTTP (400), oversized headers
 * (431) and requests not received within the request timeout (408). It writes
 * the standard error body, logs it like sendError does, and closes the
 * connection, because the parser state of the connection is lost.
 */
export function buildClientErrorHandler(requestTimeoutMs: number): (this: FastifyInstance, error: Error, socket: Socket) => void {
  // fastify binds the handler to its instance.
  return function handleClientError(this: FastifyInstance, error: Error, socket: Socket): void {
    const errno = error as NodeJS.ErrnoException;
    // A reset connection has no client left to reply to.
    if (errno.code === 'ECONNRESET' || socket.destroyed) return;

    const soma = clientErrorToSomaError(errno, requestTimeoutMs);
    this.log.info({ statusCode: soma.statusCode, code: soma.code, err: error }, 'request rejected');
    // Reply only while no response on this connection has started, because the bytes would corrupt it.
    const pending = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (socket.writable && pending?.headersSent !== true) {
      const body = JSON.stringify(toErrorBody(soma));
      socket.write(
        `HTTP/1.1 ${soma.statusCode} ${STATUS_CODES[soma.statusCode] ?? 'Error'}\r\n` +
          'Content-Type: application/json; charset=utf-8\r\n' +
          `Content-Length: ${Buffer.byteLength(body)}\r\n` +
          'Connection: close\r\n\r\n' +
          body,
      );
    }
    socket.destroy(error);
  };
}
