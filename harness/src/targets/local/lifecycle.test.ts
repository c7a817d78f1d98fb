/**
 * The local target's lifecycle against real processes in state dirs of its
 * own: up, reuse, stop/start actions, down, up again with data kept, a
 * component that dies and down --purge on the backends alone; then, with the
 * service processes, an up interrupted while they start and a down that
 * leaves no process of the six behind.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { main } from '../../cli.js';
import { HarnessError } from '../../exit-codes.js';
import { isPidAlive, sleep } from '../../process/daemon.js';
import type { ProgressEvent } from '../../progress.js';
import type { ComponentStatus } from '../types.js';
import { createLocalTarget, type LocalTarget } from './index.js';

const ROOT_DIR = resolve(import.meta.dirname, '..', '..', '..', '..');
const STATE_DIR = join(ROOT_DIR, '.soma', `test-lifecycle-${process.pid}`);

function collectingStream(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      chunks.push(String(chunk));
      callback();
    },
  });
  return { stream, text: () => chunks.join('') };
}

async function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = collectingStream();
  const stderr = collectingStream();
  const code = await main(args, { stdout: stdout.stream, stderr: stderr.stream, rootDir: ROOT_DIR, progress: () => {} });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

async function query<T>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

function byName(rows: ComponentStatus[]): Record<string, ComponentStatus> {
  return Object.fromEntries(rows.map((row) => [row.name, row]));
}

describe('local target lifecycle', () => {
  const events: ProgressEvent[] = [];
  // A root dir without service/src/main.ts: up must start the backends and warn that the service is missing.
  const emptyRoot = mkdtempSync(join(tmpdir(), 'local-root-'));
  let target: LocalTarget;
  let firstPids: number[] = [];
  let firstPorts: number[] = [];

  before(() => {
    target = createLocalTarget({
      rootDir: emptyRoot,
      env: process.env,
      progress: (event) => events.push(event),
      stateDir: STATE_DIR,
    });
  });

  after(async () => {
    await target.down({ purge: true }).catch(() => {});
    rmSync(emptyRoot, { recursive: true, force: true });
  });

  test('up starts postgres, kafka and qdrant and reports the missing service', async () => {
    const endpoints = await target.up();
    assert.match(endpoints.postgresUrl, /^postgresql:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
    assert.match(endpoints.kafkaBrokers[0] ?? '', /^127\.0\.0\.1:\d+$/);
    assert.match(endpoints.qdrantUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(endpoints.apiUrl, '');
    const warning = events.find((event) => event.kind === 'warn' && event.message.includes('service components not available'));
    assert.ok(warning, 'a warning names the missing service entry');

    const rows = await target.status();
    assert.deepEqual(rows.map((row) => row.name), ['postgres', 'kafka', 'qdrant']);
    for (const row of rows) {
      assert.equal(row.state, 'running', `${row.name} runs`);
      assert.equal(typeof row.pid, 'number', `${row.name} has a PID`);
      assert.equal(isPidAlive(row.pid), true, `${row.name} PID is alive`);
      assert.ok(row.logPath?.startsWith(STATE_DIR), `${row.name} logs into the state dir`);
    }
    firstPids = rows.map((row) => row.pid as number);
    firstPorts = rows.map((row) => row.port);
  });

  test('postgres answers select version() and keeps a row', async () => {
    const { postgresUrl } = target.readEndpoints();
    const [row] = await query<{ version: string }>(postgresUrl, 'select version()');
    assert.match(row?.version ?? '', /^PostgreSQL \d+/);
    await query(postgresUrl, 'create table lifecycle_marker (value int)');
    await query(postgresUrl, 'insert into lifecycle_marker values (42)');
  });

  test('status --json prints name, address, pid and log of each component', async () => {
    const result = await runCli(['status', '--target', 'local', '--state-dir', STATE_DIR, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const rows = JSON.parse(result.stdout) as ComponentStatus[];
    assert.deepEqual(rows.map((row) => row.name), ['postgres', 'kafka', 'qdrant']);
    const rowsByName = byName(rows);
    assert.match(rowsByName.postgres?.address ?? '', /^postgresql:\/\//);
    assert.match(rowsByName.kafka?.address ?? '', /^127\.0\.0\.1:\d+$/);
    assert.match(rowsByName.qdrant?.address ?? '', /^http:\/\//);
    assert.ok(rows.every((row) => typeof row.pid === 'number' && typeof row.logPath === 'string'));
  });

  test('a second up reuses the running processes', async () => {
    await target.up();
    const rows = await target.status();
    assert.deepEqual(rows.map((row) => row.pid), firstPids);
    assert.ok(events.some((event) => event.kind === 'info' && event.message.startsWith('kafka: reusing pid')));
  });

  test('stop-component and start-component restart qdrant on its port', async () => {
    const before = byName(await target.status()).qdrant;
    await target.runAction({ action: 'stop-component', params: { component: 'qdrant', signal: 'SIGKILL' } });
    const stopped = byName(await target.status()).qdrant;
    assert.equal(stopped?.state, 'stopped');
    assert.equal(isPidAlive(before?.pid), false);

    await target.runAction({ action: 'start-component', params: { component: 'qdrant' } });
    const restarted = byName(await target.status()).qdrant;
    assert.equal(restarted?.state, 'running');
    assert.equal(restarted?.port, before?.port);
    assert.notEqual(restarted?.pid, before?.pid);
    firstPids = (await target.status()).map((row) => row.pid as number);
  });

  test('runAction rejects an unknown action with the list of actions', async () => {
    await assert.rejects(target.runAction({ action: 'helm-upgrade' }), (error: HarnessError) => {
      assert.equal(error.message, 'the local target has no action "helm-upgrade"');
      assert.equal(error.hint, 'use one of: stop-component, start-component');
      return true;
    });
  });

  test('down stops every process it started', async () => {
    const result = await runCli(['down', '--target', 'local', '--state-dir', STATE_DIR]);
    assert.equal(result.code, 0, result.stderr);
    for (const pid of firstPids) assert.equal(isPidAlive(pid), false, `pid ${pid} is gone`);
    const rows = await target.status();
    assert.ok(rows.every((row) => row.state === 'stopped'));
  });

  test('up after down keeps the ports and the postgres data', async () => {
    await target.up();
    const rows = await target.status();
    assert.deepEqual(rows.map((row) => row.port), firstPorts);
    const markers = await query<{ value: number }>(target.readEndpoints().postgresUrl, 'select value from lifecycle_marker');
    assert.deepEqual(markers, [{ value: 42 }]);
  });

  test('status reports a component that died', async () => {
    const kafka = byName(await target.status()).kafka;
    process.kill(kafka?.pid as number, 'SIGKILL');
    for (let i = 0; i < 50 && isPidAlive(kafka?.pid); i++) await sleep(100);

    const result = await runCli(['status', '--target', 'local', '--state-dir', STATE_DIR]);
    assert.equal(result.code, 2);
    assert.match(result.stdout, /^kafka +dead +\d+/m);
    assert.match(result.stderr, new RegExp(`error: kafka died \\(pid ${kafka?.pid} is not running\\); run \`soma-harness up\` to restart it`));
    assert.match(result.stderr, /last \d+ lines of .*kafka\.log/);
  });

  test('down --purge removes the state dir and leaves no process', async () => {
    const pids = (await target.status()).map((row) => row.pid).filter((pid): pid is number => pid !== undefined);
    await target.down({ purge: true });
    assert.equal(existsSync(STATE_DIR), false);
    for (const pid of pids) assert.equal(isPidAlive(pid), false, `pid ${pid} is gone`);
  });
});

describe('local target preflight', () => {
  test('names every missing tool and its Debian package before starting anything', async () => {
    const stateDir = join(ROOT_DIR, '.soma', `test-preflight-${process.pid}`);
    const cacheDir = mkdtempSync(join(tmpdir(), 'empty-cache-'));
    const target = createLocalTarget({
      rootDir: ROOT_DIR,
      env: { PATH: '/nonexistent', SOMA_CACHE_DIR: cacheDir },
      progress: () => {},
      stateDir,
      backendsOnly: true,
    });
    try {
      await assert.rejects(target.up(), (error: HarnessError) => {
        assert.equal(error.exitCode, 2);
        assert.match(error.message, /kafka needs java: install the Debian package openjdk-17-jre-headless/);
        assert.match(error.message, /kafka needs mvn: install the Debian package maven/);
        assert.match(error.message, /qdrant needs python3: install the Debian packages python3 and python3-venv/);
        return true;
      });
      assert.deepEqual(await target.status(), [], 'nothing was started');
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });
});

describe('local target after an interrupted up', () => {
  test('down stops what an up stopped by Ctrl-C had started', async () => {
    const stateDir = join(ROOT_DIR, '.soma', `test-interrupt-${process.pid}`);
    const statePath = join(stateDir, 'state.json');
    const child = spawn(process.execPath, ['harness/bin/soma-harness.mjs', 'up', '--backends-only', '--state-dir', stateDir], {
      cwd: ROOT_DIR,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += String(chunk)));
    const exited = new Promise<number | null>((resolveExit) => child.on('close', (code) => resolveExit(code)));
    try {
      // Interrupt as soon as the first process is recorded, while the others still start.
      let recorded: number[] = [];
      for (let i = 0; i < 300 && recorded.length === 0; i++) {
        await sleep(100);
        if (existsSync(statePath)) recorded = recordedPids(statePath);
      }
      assert.ok(recorded.length > 0, `up recorded a PID before the interrupt; stderr:\n${stderr}`);
      child.kill('SIGINT');
      const code = await exited;
      assert.equal(code, 130, `an interrupted up exits 130; stderr:\n${stderr}`);
      assert.match(stderr, /received SIGINT, cleaning up/);

      const pids = recordedPids(statePath);
      const result = await runCli(['down', '--state-dir', stateDir]);
      assert.equal(result.code, 0, result.stderr);
      for (const pid of pids) assert.equal(isPidAlive(pid), false, `pid ${pid} is gone`);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await runCli(['down', '--state-dir', stateDir, '--purge']);
    }
  });
});

describe('local target with the service', () => {
  const stateDir = join(ROOT_DIR, '.soma', `test-service-lifecycle-${process.pid}`);
  const statePath = join(stateDir, 'state.json');

  after(async () => {
    await runCli(['down', '--state-dir', stateDir, '--purge']);
  });

  test('SIGINT while the service starts stops everything up started', async () => {
    const child = spawn(process.execPath, ['harness/bin/soma-harness.mjs', 'up', '--state-dir', stateDir], {
      cwd: ROOT_DIR,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += String(chunk)));
    const exited = new Promise<number | null>((resolveExit) => child.on('close', (code) => resolveExit(code)));
    try {
      // Interrupt once a service process is recorded, while the service processes start.
      let services: number[] = [];
      for (let i = 0; i < 600 && services.length === 0; i++) {
        await sleep(100);
        if (existsSync(statePath)) services = recordedPids(statePath, ['api', 'kv-writer', 'vector-indexer']);
      }
      assert.ok(services.length > 0, `up recorded a service PID before the interrupt; stderr:\n${stderr}`);
      const pids = recordedPids(statePath);
      child.kill('SIGINT');
      const code = await exited;

      assert.equal(code, 130, stderr);
      for (const pid of [...pids, ...recordedPids(statePath)]) assert.equal(isPidAlive(pid), false, `pid ${pid} is gone`);
      assert.deepEqual(recordedPids(statePath), [], 'no PID stays recorded');
      const interrupted = stderr.split('\n').filter((line) => /interrupted/i.test(line));
      assert.equal(interrupted.length, 1, `one line says the up was interrupted:\n${stderr}`);
      assert.match(interrupted[0] ?? '', /^interrupted by SIGINT: stopped (api|kv-writer|vector-indexer), .*postgres.*, which this up had started \(exit 130\)$/);
      assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace');
      assert.doesNotMatch(stderr, /^error:/m);
      const afterSignal = stderr.slice(stderr.indexOf('received SIGINT'));
      assert.doesNotMatch(afterSignal, /▶ start|… waiting/, 'nothing starts or is awaited after the signal');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  test('down stops the backends and the service processes', async () => {
    const up = await runCli(['up', '--state-dir', stateDir]);
    assert.equal(up.code, 0, up.stderr);
    const rows = JSON.parse((await runCli(['status', '--state-dir', stateDir, '--json'])).stdout) as ComponentStatus[];
    assert.deepEqual(rows.map((row) => [row.name, row.state]), [
      ['postgres', 'running'],
      ['kafka', 'running'],
      ['qdrant', 'running'],
      ['api', 'running'],
      ['kv-writer', 'running'],
      ['vector-indexer', 'running'],
    ]);
    const pids = rows.map((row) => row.pid as number);
    for (const pid of pids) assert.equal(isPidAlive(pid), true, `pid ${pid} runs before down`);

    const down = await runCli(['down', '--state-dir', stateDir]);
    assert.equal(down.code, 0, down.stderr);
    for (const pid of pids) assert.equal(isPidAlive(pid), false, `pid ${pid} is gone`);
  });
});

function recordedPids(statePath: string, names?: string[]): number[] {
  const state = JSON.parse(readFileSync(statePath, 'utf8')) as { components: Record<string, { pid?: number }> };
  return Object.entries(state.components)
    .filter(([name]) => names === undefined || names.includes(name))
    .map(([, record]) => record.pid)
    .filter((pid): pid is number => pid !== undefined);
}
