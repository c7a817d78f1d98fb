import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { isPidAlive, sleep, spawnDaemon, stopProcess } from './daemon.js';

describe('daemon processes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'daemon-'));
  const started: number[] = [];
  after(() => {
    for (const pid of started) if (isPidAlive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('spawnDaemon writes output to the log file', async () => {
    const logPath = join(dir, 'hello.log');
    const daemon = spawnDaemon({ command: process.execPath, args: ['-e', 'console.log("hello from daemon")'], cwd: dir, env: process.env, logPath });
    started.push(daemon.pid);
    for (let i = 0; i < 100 && !daemon.exit; i++) await sleep(50);
    assert.deepEqual(daemon.exit, { code: 0, signal: null });
    assert.match(readFileSync(logPath, 'utf8'), /hello from daemon/);
  });

  test('stopProcess stops a process with SIGTERM', async () => {
    const daemon = spawnDaemon({ command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'], cwd: dir, env: process.env, logPath: join(dir, 'term.log') });
    started.push(daemon.pid);
    assert.equal(isPidAlive(daemon.pid), true);
    assert.equal(await stopProcess(daemon.pid, { graceMs: 5000 }), 'stopped');
    assert.equal(isPidAlive(daemon.pid), false);
  });

  test('stopProcess kills a process that ignores SIGTERM after the grace period', async () => {
    const script = 'process.on("SIGTERM", () => {}); console.log("ready"); setInterval(() => {}, 1000)';
    const logPath = join(dir, 'stubborn.log');
    const daemon = spawnDaemon({ command: process.execPath, args: ['-e', script], cwd: dir, env: process.env, logPath });
    started.push(daemon.pid);
    for (let i = 0; i < 100 && !readFileSync(logPath, 'utf8').includes('ready'); i++) await sleep(50);
    assert.equal(await stopProcess(daemon.pid, { graceMs: 300 }), 'killed');
    assert.equal(isPidAlive(daemon.pid), false);
  });

  test('stopProcess reports a PID that does not run', async () => {
    assert.equal(await stopProcess(undefined, { graceMs: 10 }), 'not-running');
  });
});
