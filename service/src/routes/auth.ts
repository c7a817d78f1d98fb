/**
 * Bearer-token authentication for every route except /healthz, /readyz and
 * /metrics. Tokens are compared in constant time through their SHA-256
 * digests, so neither the content nor the length of the token leaks through
 * response timing. Neither the token nor the credential of a rejected header
 * is logged or repeated in a response.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { somaError } from '../errors.js';

export const OPEN_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * Schemes of the IANA HTTP Authentication Scheme Registry plus a few common
 * unregistered ones. Only these names are repeated in an error message,
 * because the first word of an unknown header may be the credential itself.
 */
const KNOWN_SCHEMES = new Map(
  ['Basic', 'Bearer', 'Digest', 'HOBA', 'Mutual', 'Negotiate', 'NTLM', 'OAuth', 'SCRAM-SHA-1', 'SCRAM-SHA-256', 'vapid', 'AWS4-HMAC-SHA256', 'Token', 'ApiKey'].map(
    (scheme) => [scheme.toLowerCase(), scheme],
  ),
);

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Extracts the bearer token of an Authorization header, or throws the 401 that names what is wrong. */
export function bearerToken(header: string | undefined): string {
  const value = header?.trim() ?? '';
  if (value === '') throw somaError('SOMA_ERR_AUTH_MISSING_TOKEN', { problem: 'the Authorization header is missing' });

  const separator = value.search(/\s/);
  const scheme = separator === -1 ? value : value.slice(0, separator);
  const credential = separator === -1 ? '' : value.slice(separator).trim();
  if (scheme.toLowerCase() === 'bearer') {
    if (credential === '') {
      throw somaError('SOMA_ERR_AUTH_MISSING_TOKEN', { problem: 'the Authorization header has the Bearer scheme but no token' });
    }
    return credential;
  }

  const known = KNOWN_SCHEMES.get(scheme.toLowerCase());
  let got: string;
  if (known !== undefined) got = `scheme ${known}`;
  else if (separator === -1) got = 'a value without a scheme (not shown)';
  else got = `an unknown scheme of ${scheme.length} characters (not shown)`;
  throw somaError('SOMA_ERR_AUTH_INVALID_SCHEME', { got });
}

export function registerAuth(app: FastifyInstance, token: string | undefined): void {
  if (token === undefined) return;
  const expected = digest(token);

  app.addHook('onRequest', async (request) => {
    const path = request.url.split('?', 1)[0] ?? '';
    if (OPEN_ROUTES.has(path)) return;

    const sent = bearerToken(request.headers.authorization);
    if (!timingSafeEqual(digest(sent), expected)) throw somaError('SOMA_ERR_AUTH_INVALID_TOKEN', {});
  });
}
