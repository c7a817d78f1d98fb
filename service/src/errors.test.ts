import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { countCodePoints, echoValue, ERRORS, quoteValue, somaError, toErrorBody } from './errors.js';

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

test('long values are cut short in messages', () => {
  const id = 'x'.repeat(10_000);
  const message = somaError('SOMA_ERR_MEMORY_NOT_FOUND', { id }).message;
  assert.equal(message, `no memory with id "${'x'.repeat(64)}"... (10000 characters) is stored; check the id, or retry if it was stored just now`);
  assert.equal(quoteValue('short'), '"short"');
  assert.equal(echoValue('a/b'), 'a/b');
});

test('cutting a value never splits a surrogate pair', () => {
  const value = `${'a'.repeat(63)}😀tail`;
  const quoted = quoteValue(value);
  assert.equal(quoted, `"${'a'.repeat(63)}"... (68 characters)`);
});

test('code points are counted, not UTF-16 units', () => {
  assert.equal(countCodePoints(''), 0);
  assert.equal(countCodePoints('abc'), 3);
  assert.equal(countCodePoints('😀😀'), 2);
  assert.equal(countCodePoints('e\u0301'), 2);
  assert.equal(countCodePoints('\ud800x'), 2);
  assert.equal(countCodePoints('x\udc00'), 2);
});

test('dependency errors of reads name their own effect', () => {
  const error = somaError('SOMA_ERR_DEPENDENCY_UNAVAILABLE', { dependency: 'qdrant', detail: 'connection refused', effect: 'the search did not run, retry the request later' });
  assert.equal(error.message, 'qdrant is unavailable (connection refused); the search did not run, retry the request later');
});
