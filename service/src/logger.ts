/** The pino logger of the service, with secrets redacted wherever they could appear. */
import { pino, type Logger } from 'pino';
import type { LogLevel } from './config.js';

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  'config.apiToken',
  'config.qdrantApiKey',
  'apiToken',
  'qdrantApiKey',
];

export function createLogger(level: LogLevel): Logger {
  return pino({
    level,
    base: { service: 'soma' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACTED_PATHS, censor: '(redacted)' },
  });
}
