/**
 * Bearer-token authentication for every route except /healthz, /readyz and
 * /metrics. Tokens are compared in constant time through their SHA-256
 * digests, so neither the content nor the length of the token leaks through
 * response timing. The token is never logged.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { somaError } from '../errors.js';

export const OPEN_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

export function registerAuth(app: FastifyInstance, token: string | undefined): void {
  if (token === undefined) return;
  const expected = digest(token);

  app.addHook('onRequest', async (request) => {
    const path = request.url.split('?', 1)[0] ?? '';
    if (OPEN_ROUTES.has(path)) return;

    const header = request.headers.authorization;
    const match = header === undefined ? null : /^Bearer[ ]+(\S.*)$/i.exec(header);
    if (match === null) throw somaError('SOMA_ERR_AUTH_MISSING_TOKEN', {});
    if (!timingSafeEqual(digest(match[1] ?? ''), expected)) throw somaError('SOMA_ERR_AUTH_INVALID_TOKEN', {});
  });
}
