import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { HarnessError } from '../../exit-codes.js';
import { isPidAlive, spawnDaemon } from '../../process/daemon.js';
import { startFailure, waitUntilReady } from './readiness.js';

describe('readiness errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'readiness-'));
  const pids: number[] = [];
  after(() => {
    for (const pid of pids) if (isPidAlive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('names a port clash, the port and the log', async () => {
    const logPath = join(dir, 'clash.log');
    writeFileSync(logPath, 'starting\nFATAL: could not bind IPv4 address "127.0.0.1": Address already in use\n');
    const error = await startFailure({ component: 'postgres', port: 45678, logPath }, 'postgres exited during start-up (exit code 1)');
    assert.ok(error instanceof HarnessError);
    assert.equal(error.exitCode, 2);
    assert.match(error.message, /^postgres exited during start-up \(exit code 1\): port 45678 is already in use/);
    assert.match(error.message, new RegExp(`last 2 lines of ${logPath}`));
    assert.match(error.message, /\| FATAL: could not bind/);
    assert.match(error.hint ?? '', /another process took port 45678/);
  });

  test('fails early when the process exits during start-up', async () => {
    const logPath = join(dir, 'exits.log');
    const daemon = spawnDaemon({ command: process.execPath, args: ['-e', 'console.error("boom: bad config"); process.exit(3)'], cwd: dir, env: process.env, logPath });
    pids.push(daemon.pid);
    await assert.rejects(
      waitUntilReady({ component: 'kafka', port: 1, logPath, daemon, timeoutMs: 30_000, probe: async () => false, progress: () => {} }),
      (error: HarnessError) => {
        assert.match(error.message, /^kafka exited during start-up \(exit code 3\)/);
        assert.match(error.message, /\| boom: bad config/);
        assert.match(error.hint ?? '', new RegExp(`read ${logPath}`));
        return true;
      },
    );
  });

  test('times out naming the port and the log', async () => {
    const logPath = join(dir, 'slow.log');
    const daemon = spawnDaemon({ command: process.execPath, args: ['-e', 'console.log("still starting"); setTimeout(() => {}, 10000)'], cwd: dir, env: process.env, logPath });
    pids.push(daemon.pid);
    await assert.rejects(
      waitUntilReady({ component: 'qdrant', port: 6333, logPath, daemon, timeoutMs: 600, probe: async () => false, progress: () => {} }),
      (error: HarnessError) => {
        assert.match(error.message, /^qdrant was not ready on 127\.0\.0\.1:6333 after 0\.6 s\nlast 1 lines of .*slow\.log:\n {2}\| still starting$/);
        return true;
      },
    );
  });

  test('resolves once the probe answers and reports the wait', async () => {
    const daemon = spawnDaemon({ command: process.execPath, args: ['-e', 'setTimeout(() => {}, 10000)'], cwd: dir, env: process.env, logPath: join(dir, 'ok.log') });
    pids.push(daemon.pid);
    const events: string[] = [];
    let calls = 0;
    await waitUntilReady({
      component: 'api', port: 9595, logPath: join(dir, 'ok.log'), daemon, timeoutMs: 30_000,
      probe: async () => ++calls >= 2, progress: (event) => events.push(event.kind),
    });
    assert.deepEqual(events, ['wait', 'wait-done']);
  });
});
