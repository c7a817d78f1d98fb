import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { sleep } from '../../process/daemon.js';
import { withStateLock } from './lock.js';

describe('state dir lock', () => {
  const dir = mkdtempSync(join(tmpdir(), 'state-lock-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('runs two holders one after the other', async () => {
    const order: string[] = [];
    const holder = (name: string) => withStateLock(dir, 10_000, async () => {
      order.push(`${name} in`);
      await sleep(100);
      order.push(`${name} out`);
    });
    await Promise.all([holder('a'), holder('b')]);
    assert.deepEqual(order.map((entry) => entry.split(' ')[1]), ['in', 'out', 'in', 'out']);
    assert.equal(existsSync(join(dir, 'lock')), false);
  });

  test('takes over a lock whose owner died', async () => {
    mkdirSync(join(dir, 'lock'));
    // PID 2147483646 does not run on Linux (above pid_max).
    writeFileSync(join(dir, 'lock', 'pid'), '2147483646');
    assert.equal(await withStateLock(dir, 2000, async () => 'ran'), 'ran');
  });

  test('gives up with the owner PID after the timeout', async () => {
    mkdirSync(join(dir, 'lock'));
    writeFileSync(join(dir, 'lock', 'pid'), String(process.ppid));
    await assert.rejects(withStateLock(dir, 300, async () => 'never'), new RegExp(`locked by process ${process.ppid}`));
    rmSync(join(dir, 'lock'), { recursive: true, force: true });
  });
});
