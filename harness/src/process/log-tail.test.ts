import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { formatLogTail, readLogTail } from './log-tail.js';

describe('readLogTail', () => {
  const dir = mkdtempSync(join(tmpdir(), 'log-tail-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('returns the last lines of a small file', async () => {
    const path = join(dir, 'small.log');
    writeFileSync(path, 'one\ntwo\nthree\nfour\n');
    assert.deepEqual(await readLogTail(path, 2), ['three', 'four']);
  });

  test('keeps a last line without newline', async () => {
    const path = join(dir, 'open.log');
    writeFileSync(path, 'one\r\ntwo');
    assert.deepEqual(await readLogTail(path, 5), ['one', 'two']);
  });

  test('returns an empty list for a missing file', async () => {
    assert.deepEqual(await readLogTail(join(dir, 'missing.log')), []);
  });

  test('reads only whole lines from the end of a large file', async () => {
    const path = join(dir, 'large.log');
    const lines = Array.from({ length: 20_000 }, (_, i) => `line ${i} ${'x'.repeat(20)}`);
    writeFileSync(path, `${lines.join('\n')}\n`);
    const tail = await readLogTail(path, 3);
    assert.deepEqual(tail, lines.slice(-3));
  });

  test('formats a tail under a header naming the file', () => {
    assert.equal(formatLogTail('/x/kafka.log', ['a', 'b']), 'last 2 lines of /x/kafka.log:\n  | a\n  | b');
    assert.equal(formatLogTail('/x/kafka.log', []), '(log /x/kafka.log is empty or missing)');
  });
});
