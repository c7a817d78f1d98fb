/**
 * `status` on the local target, read from a state file written here. The
 * service records carry no PID, so every component reads as stopped and no
 * process is started.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../load/engine-test-support.js';
import { writeState, type ComponentRecord } from '../targets/local/state.js';
import type { ComponentStatus } from '../targets/types.js';

const TOKEN = 'status-test-token-5f1c';

function runStatusCli(argv: string[]): ReturnType<typeof runCli> {
  return runCli(argv, { ...process.env, SOMA_API_TOKEN: TOKEN });
}

function serviceRecord(name: 'api' | 'kv-writer', settings: Partial<ComponentRecord>): ComponentRecord {
  return { name, port: 9595, address: 'http://127.0.0.1:9595', logPath: `/tmp/${name}.log`, managed: true, ...settings };
}

/** Writes a state dir whose api and kv-writer records carry `settings`, then runs `status --json` on it. */
async function statusOf(settings: Partial<ComponentRecord>): Promise<{ api?: ComponentStatus; kvWriter?: ComponentStatus; stdout: string }> {
  const stateDir = mkdtempSync(join(tmpdir(), 'soma-status-'));
  writeState(stateDir, {
    version: 1,
    components: { api: serviceRecord('api', settings), 'kv-writer': serviceRecord('kv-writer', settings) },
  });
  const result = await runStatusCli(['status', '--target', 'local', '--state-dir', stateDir, '--json']);
  assert.equal(result.code, 0, result.stderr);
  const rows = JSON.parse(result.stdout) as ComponentStatus[];
  return {
    api: rows.find((row) => row.name === 'api'),
    kvWriter: rows.find((row) => row.name === 'kv-writer'),
    stdout: result.stdout,
  };
}

test('status json marks api started with token', async () => {
  const { api, kvWriter, stdout } = await statusOf({ settingsHash: 'a'.repeat(64), settingsKeys: ['SOMA_API_TOKEN'], authRequired: true });
  assert.equal(api?.authRequired, true);
  assert.equal(api?.authTokenVariable, 'SOMA_API_TOKEN');
  assert.equal(kvWriter?.authRequired, undefined, 'only the api row describes auth');
  assert.ok(!stdout.includes(TOKEN), 'the token value is never printed');
});

test('status json marks api started without token', async () => {
  const { api } = await statusOf({ settingsHash: 'b'.repeat(64), settingsKeys: ['SOMA_LOG_LEVEL'], authRequired: false });
  assert.equal(api?.authRequired, false);
  assert.equal(api?.authTokenVariable, 'SOMA_API_TOKEN');
});

test('status json reads older records by variable name', async () => {
  const { api } = await statusOf({ settingsHash: 'c'.repeat(64), settingsKeys: ['SOMA_API_TOKEN', 'SOMA_LOG_LEVEL'] });
  assert.equal(api?.authRequired, true);
});

test('status json leaves auth unknown without settings', async () => {
  const { api } = await statusOf({});
  assert.equal(api?.authRequired, undefined);
  assert.equal(api?.authTokenVariable, 'SOMA_API_TOKEN');
});

test('status table names the token variable', async () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'soma-status-'));
  writeState(stateDir, { version: 1, components: { api: serviceRecord('api', { authRequired: true, flavour: 'node service' }) } });
  const result = await runStatusCli(['status', '--target', 'local', '--state-dir', stateDir]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^api\s+stopped\s.*node service; requires a bearer token \(SOMA_API_TOKEN\)$/m);
  assert.ok(!result.stdout.includes(TOKEN), 'the token value is never printed');
});
