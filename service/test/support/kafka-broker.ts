/**
 * A Kafka broker of its own for tests that stop Kafka, started the way the
 * local target starts its broker, in a temporary state directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKafkaComponent } from '../../../harness/src/targets/local/kafka.js';
import { resolveCacheDir } from '../../../harness/src/targets/local/index.js';
import { emptyState } from '../../../harness/src/targets/local/state.js';
import type { ComponentRecord } from '../../../harness/src/targets/local/state.js';
import { ROOT_DIR } from '../../../test/support/backends.js';

export interface TestBroker {
  address: string;
  /** Stops the broker process (SIGKILL, so the stop is immediate). */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data. */
  start(): Promise<void>;
  /** Stops it and removes its data. */
  remove(): Promise<void>;
}

function waitForExit(pid: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      try {
        process.kill(pid, 0);
      } catch {
        clearInterval(timer);
        resolve();
      }
    }, 100);
  });
}

export async function startTestBroker(): Promise<TestBroker> {
  const stateDir = mkdtempSync(join(tmpdir(), 'soma-broker-'));
  const component = createKafkaComponent();
  const state = emptyState();
  const context = {
    rootDir: ROOT_DIR,
    stateDir,
    cacheDir: resolveCacheDir(process.env),
    env: process.env,
    progress: () => undefined,
    state,
    saveState: () => undefined,
    takenPorts: new Set<number>(),
  };
  let record: ComponentRecord = await component.start(context, undefined);

  async function stop(): Promise<void> {
    if (record.pid === undefined) return;
    try {
      process.kill(record.pid, 'SIGKILL');
    } catch {
      return;
    }
    await waitForExit(record.pid);
  }

  return {
    address: record.address,
    stop,
    async start() {
      context.takenPorts.clear();
      record = await component.start(context, record);
    },
    async remove() {
      await stop();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
