import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { emptyState, readState, STATE_FILE_NAME, writeState, type LocalState } from './state.js';

describe('local target state file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'local-state-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('reads a missing file as an empty state', () => {
    assert.deepEqual(readState(join(dir, 'nothing-here')), emptyState());
  });

  test('round-trips ports, PIDs and log paths', () => {
    const state: LocalState = {
      version: 1,
      kafkaClusterId: 'hytYlam8K3i-fEnHW07TcQ',
      components: {
        kafka: {
          name: 'kafka', port: 9092, extraPorts: { controller: 9093 }, address: '127.0.0.1:9092', pid: 1234,
          logPath: '/tmp/kafka.log', managed: true,
        },
      },
    };
    const stateDir = join(dir, 'round-trip');
    writeState(stateDir, state);
    assert.deepEqual(readState(stateDir), state);
    assert.deepEqual(readdirSync(stateDir), [STATE_FILE_NAME], 'no temporary file is left behind');
  });

  test('rejects a state file of another version with the fix', () => {
    const stateDir = join(dir, 'old');
    writeState(stateDir, emptyState());
    writeFileSync(join(stateDir, STATE_FILE_NAME), JSON.stringify({ version: 99, components: {} }));
    assert.throws(() => readState(stateDir), /has version 99, expected 1; stop its processes by hand and delete the state dir/);
  });
});
