import { HarnessError, EXIT_USAGE } from '../../exit-codes.js';
import { formatLogTail, readLogTail } from '../../process/log-tail.js';
import { isPidAlive, sleep, type Daemon } from '../../process/daemon.js';
import type { ProgressSink } from '../../progress.js';
import type { ComponentName } from './state.js';

const POLL_MS = 250;
/** Log lines that mean the process could not bind its port. */
const PORT_CLASH = /address already in use|BindException|could not bind|EADDRINUSE/i;

export interface ReadinessWait {
  component: ComponentName;
  port: number;
  logPath: string;
  daemon: Daemon;
  timeoutMs: number;
  probe: () => Promise<boolean>;
  progress: ProgressSink;
  signal?: AbortSignal;
}

/**
 * Polls `probe` until it returns true. Fails early when the process exits, and
 * after `timeoutMs`; either error names the port and the log and shows its tail.
 */
export async function waitUntilReady(wait: ReadinessWait): Promise<void> {
  const awaited = `${wait.component} on 127.0.0.1:${wait.port}`;
  const started = Date.now();
  wait.progress({ kind: 'wait', what: awaited, timeoutMs: wait.timeoutMs });
  while (Date.now() - started < wait.timeoutMs) {
    wait.signal?.throwIfAborted();
    if (wait.daemon.exit || !isPidAlive(wait.daemon.pid)) {
      throw await startFailure(wait, `${wait.component} exited during start-up${describeExit(wait.daemon)}`);
    }
    const ready = await wait.probe().catch(() => false);
    // A signal that arrived during the probe ends the wait, even when the probe succeeded.
    wait.signal?.throwIfAborted();
    if (ready) {
      wait.progress({ kind: 'wait-done', what: awaited, durationMs: Date.now() - started });
      return;
    }
    await sleep(POLL_MS, wait.signal);
  }
  throw await startFailure(wait, `${wait.component} was not ready on 127.0.0.1:${wait.port} after ${wait.timeoutMs / 1000} s`);
}

function describeExit(daemon: Daemon): string {
  if (!daemon.exit) return '';
  return daemon.exit.signal ? ` (killed by ${daemon.exit.signal})` : ` (exit code ${daemon.exit.code})`;
}

/** Builds the error for a component that did not become ready: reason, port clash, log tail, fix. */
export async function startFailure(wait: Pick<ReadinessWait, 'component' | 'port' | 'logPath'>, reason: string): Promise<HarnessError> {
  const tail = await readLogTail(wait.logPath, 20);
  const clash = tail.some((line) => PORT_CLASH.test(line));
  const message = [
    clash ? `${reason}: port ${wait.port} is already in use` : reason,
    formatLogTail(wait.logPath, tail),
  ].join('\n');
  const hint = clash
    ? `another process took port ${wait.port}; run \`soma-harness up --target local\` again to pick a free port (log: ${wait.logPath})`
    : `read ${wait.logPath}; \`soma-harness down --target local\` stops what started`;
  return new HarnessError(message, { exitCode: EXIT_USAGE, hint });
}
