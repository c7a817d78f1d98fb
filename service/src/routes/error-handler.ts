/**
 * Turns every error into the documented error body
 * `{statusCode, code, error, message, errors?}` and logs it once: 4xx at
 * info, 5xx at error with the original error.
 */
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { SomaError, somaError, toErrorBody } from '../errors.js';

/** Seconds a client should wait before retrying a 503. */
export const RETRY_AFTER_SECONDS = 1;

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

export function registerErrorHandlers(app: FastifyInstance, maxBodyBytes: number): void {
  app.setErrorHandler((error: FastifyError | Error, request, reply) => {
    const soma = toSomaError(error, request, maxBodyBytes);
    if (soma.statusCode >= 500) {
      request.log.error({ err: soma.cause ?? soma, code: soma.code }, 'request failed');
    } else {
      request.log.info({ code: soma.code }, 'request rejected');
    }
    if (soma.statusCode === 503) reply.header('retry-after', String(RETRY_AFTER_SECONDS));
    reply.code(soma.statusCode).send(toErrorBody(soma));
  });

  app.setNotFoundHandler((request, reply) => {
    const soma = somaError('SOMA_ERR_ROUTE_NOT_FOUND', { method: request.method, url: request.url.split('?', 1)[0] ?? '' });
    reply.code(404).send(toErrorBody(soma));
  });
}
