import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

export interface DaemonSpec {
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** stdout and stderr are appended to this file. */
  logPath: string;
  /** Run as this user and group (only possible as root). */
  uid?: number;
  gid?: number;
}

export interface Daemon {
  pid: number;
  /** Exit code or signal once the process has ended while this harness process still runs. */
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
}

/**
 * Starts a long-running process in its own process group, detached from the
 * harness so it outlives the CLI call that started it. Output goes to `logPath`.
 */
export function spawnDaemon(spec: DaemonSpec): Daemon {
  const logFd = openSync(spec.logPath, 'a');
  try {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      stdio: ['ignore', logFd, logFd],
      uid: spec.uid,
      gid: spec.gid,
    });
    if (child.pid === undefined) {
      throw new Error(`failed to start ${spec.command}: no PID (is it executable?)`);
    }
    const daemon: Daemon = { pid: child.pid, exit: undefined };
    child.on('exit', (code, signal) => {
      daemon.exit = { code, signal };
    });
    child.on('error', () => {
      daemon.exit = { code: null, signal: null };
    });
    child.unref();
    return daemon;
  } finally {
    closeSync(logFd);
  }
}

/** Checks whether a process with this PID exists. Node reaps the exited children of this process, so they do not linger as zombies. */
export function isPidAlive(pid: number | undefined): boolean {
  if (!pid || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface StopOptions {
  /** First signal; SIGTERM unless the program shuts down cleanly on another one. */
  signal?: NodeJS.Signals;
  /** How long to wait after the first signal before SIGKILL. */
  graceMs: number;
  pollMs?: number;
}

export type StopOutcome = 'not-running' | 'stopped' | 'killed';

/** Sends `signal`, waits up to `graceMs` for the process to end, then sends SIGKILL. */
export async function stopProcess(pid: number | undefined, options: StopOptions): Promise<StopOutcome> {
  if (!isPidAlive(pid)) return 'not-running';
  const target = pid as number;
  const pollMs = options.pollMs ?? 100;
  try {
    process.kill(target, options.signal ?? 'SIGTERM');
  } catch {
    return 'not-running';
  }
  const deadline = Date.now() + options.graceMs;
  while (Date.now() < deadline) {
    await sleep(pollMs);
    if (!isPidAlive(target)) return 'stopped';
  }
  try {
    process.kill(target, 'SIGKILL');
  } catch {
    return 'stopped';
  }
  for (let i = 0; i < 50 && isPidAlive(target); i++) await sleep(pollMs);
  return 'killed';
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
