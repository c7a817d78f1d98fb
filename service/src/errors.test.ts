import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ERRORS, somaError, toErrorBody } from './errors.js';

const ERRORS_DOC = join(dirname(fileURLToPath(import.meta.url)), '..', 'ERRORS.md');

test('every error code is documented in ERRORS.md with its status', () => {
  const doc = readFileSync(ERRORS_DOC, 'utf8');
  for (const [code, definition] of Object.entries(ERRORS)) {
    const row = doc.split('\n').find((line) => line.startsWith(`| \`${code}\` |`));
    assert.ok(row, `${code} has a row in service/ERRORS.md`);
    assert.match(row, new RegExp(`\\| ${definition.statusCode} \\| ${definition.retriable ? 'yes' : 'no'} \\|`), `${code} row`);
  }
});

test('every documented code exists in the registry', () => {
  const doc = readFileSync(ERRORS_DOC, 'utf8');
  for (const [, code] of doc.matchAll(/^\| `(SOMA_ERR_[A-Z_]+)` \|/gm)) {
    assert.ok(code !== undefined);
    assert.ok(code in ERRORS, `${code} is in service/src/errors.ts`);
  }
});

test('codes follow SOMA_ERR_<AREA>_<PROBLEM>', () => {
  for (const code of Object.keys(ERRORS)) assert.match(code, /^SOMA_ERR_[A-Z]+_[A-Z_]+$/);
});

test('error body names the limit and the fix', () => {
  const body = toErrorBody(somaError('SOMA_ERR_BULK_TOO_LARGE', { count: 1200, limit: 1000 }));
  assert.deepEqual(body, {
    statusCode: 413,
    code: 'SOMA_ERR_BULK_TOO_LARGE',
    error: 'Payload Too Large',
    message: 'the bulk request has 1200 items and the limit is 1000; send the items in chunks or raise SOMA_MAX_BULK_ITEMS',
  });
});

test('dependency errors are retriable', () => {
  const error = somaError('SOMA_ERR_DEPENDENCY_UNAVAILABLE', { dependency: 'kafka', detail: 'connection refused' });
  assert.equal(error.statusCode, 503);
  assert.equal(error.retriable, true);
  assert.match(error.message, /^kafka is unavailable \(connection refused\)/);
});
