import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { colorEnabled, createLiveStatus, formatLoadProgress } from './live-progress.js';

function capture(isTTY: boolean): { stream: PassThrough & { isTTY?: boolean }; text: () => string } {
  const stream = new PassThrough() as PassThrough & { isTTY?: boolean };
  stream.isTTY = isTTY;
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

test('load progress shows items, rate, ETA and errors', () => {
  const text = formatLoadProgress({ totalItems: 1000, sentItems: 600, acknowledgedItems: 500, rejectedItems: 5, failedItems: 0, retries: 2, elapsedMs: 1000 });
  assert.equal(text, '505/1000 items (50%)  505 items/s  ETA 980 ms  rejected 5  retries 2');
});

test('plain lines when not on a TTY', () => {
  const { stream, text } = capture(false);
  const status = createLiveStatus('load smoke', { stream, enabled: true, env: {}, plainIntervalMs: 0 });
  status.update('1/2 items');
  status.done('2/2 items');
  assert.equal(text(), 'load smoke  1/2 items\n✔ load smoke  2/2 items\n');
});

test('one redrawn line on a TTY, coloured unless NO_COLOR', () => {
  const tty = capture(true);
  const status = createLiveStatus('load smoke', { stream: tty.stream, enabled: true, env: {}, ttyIntervalMs: 0 });
  status.update('1/2 items');
  status.done('2/2 items');
  assert.equal(tty.text(), '\r\u001b[2K\u001b[36mload smoke\u001b[39m  1/2 items\r\u001b[2K\u001b[32m✔\u001b[39m \u001b[36mload smoke\u001b[39m  2/2 items\n');

  const noColor = capture(true);
  const plain = createLiveStatus('load smoke', { stream: noColor.stream, enabled: true, env: { NO_COLOR: '1' }, ttyIntervalMs: 0 });
  plain.update('1/2 items');
  assert.equal(noColor.text(), '\r\u001b[2Kload smoke  1/2 items');
});

test('quiet and json write nothing', () => {
  const { stream, text } = capture(true);
  const status = createLiveStatus('load', { stream, enabled: false, env: {} });
  status.update('x');
  status.done('y');
  assert.equal(text(), '');
});

test('colour needs a TTY and no NO_COLOR', () => {
  assert.equal(colorEnabled({ isTTY: true }, {}), true);
  assert.equal(colorEnabled({ isTTY: true }, { NO_COLOR: '1' }), false);
  assert.equal(colorEnabled({ isTTY: true }, { NO_COLOR: '' }), true);
  assert.equal(colorEnabled({ isTTY: false }, {}), false);
});
