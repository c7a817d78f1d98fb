import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { test } from 'node:test';
import { SomaError } from '../errors.js';
import { decodeBody, firstInvalidUtf8Offset, parseJsonText, unsupportedCharset, unsupportedContentEncoding } from './json-body-parser.js';

const CASES: [string, number[], number][] = [
  ['ASCII', [0x7b, 0x7d], -1],
  ['two-byte é', [0x61, 0xc3, 0xa9], -1],
  ['four-byte emoji', [0xf0, 0x9f, 0x98, 0x80], -1],
  ['U+10FFFF', [0xf4, 0x8f, 0xbf, 0xbf], -1],
  ['lone Latin-1 é', [0x61, 0xe9, 0x62], 1],
  ['continuation byte first', [0x80], 0],
  ['overlong slash', [0x61, 0xc0, 0xaf], 1],
  ['overlong three-byte', [0xe0, 0x80, 0xaf], 0],
  ['surrogate U+D800', [0xed, 0xa0, 0x80], 0],
  ['above U+10FFFF', [0xf4, 0x90, 0x80, 0x80], 0],
  ['truncated at the end', [0x61, 0x62, 0xe2, 0x82], 2],
  ['0xff', [0xff], 0],
];

test('first invalid UTF-8 offset agrees with buffer.isUtf8', () => {
  for (const [name, bytes, offset] of CASES) {
    const buffer = Buffer.from(bytes);
    assert.equal(firstInvalidUtf8Offset(buffer), offset, name);
    assert.equal(isUtf8(buffer), offset === -1, name);
  }
});

test('invalid UTF-8 body raises SOMA_ERR_BODY_INVALID_ENCODING with the offset', () => {
  const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":"'), Buffer.from([0xff]), Buffer.from('"}')]);
  assert.throws(
    () => decodeBody(body),
    (error: unknown) =>
      error instanceof SomaError &&
      error.code === 'SOMA_ERR_BODY_INVALID_ENCODING' &&
      error.message === 'the request body is not valid UTF-8 (invalid byte 0xff at byte offset 9); encode the JSON text as UTF-8',
  );
});

test('a leading byte order mark is removed, a later one kept', () => {
  const text = decodeBody(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":"\ufeff"}')]));
  assert.deepEqual(parseJsonText(text), { a: '\ufeff' });
});

test('content encodings other than identity are named', () => {
  assert.equal(unsupportedContentEncoding(undefined), undefined);
  assert.equal(unsupportedContentEncoding(''), undefined);
  assert.equal(unsupportedContentEncoding('identity'), undefined);
  assert.equal(unsupportedContentEncoding('IDENTITY'), undefined);
  assert.equal(unsupportedContentEncoding('gzip'), 'gzip');
  assert.equal(unsupportedContentEncoding('identity, br'), 'br');
  assert.equal(unsupportedContentEncoding(['identity', 'deflate']), 'deflate');
});

test('charsets other than utf-8 are named', () => {
  assert.equal(unsupportedCharset(undefined), undefined);
  assert.equal(unsupportedCharset('application/json'), undefined);
  assert.equal(unsupportedCharset('application/json; charset=utf-8'), undefined);
  assert.equal(unsupportedCharset('application/json;charset=UTF-8'), undefined);
  assert.equal(unsupportedCharset('application/json; Charset="utf-8"'), undefined);
  assert.equal(unsupportedCharset('application/json; charset=latin1'), 'latin1');
  assert.equal(unsupportedCharset('application/json; charset="ISO-8859-1"'), 'ISO-8859-1');
  assert.equal(unsupportedCharset('application/json; charset=utf8'), undefined);
  assert.equal(unsupportedCharset('application/json; charset=utf-16'), 'utf-16');
});
