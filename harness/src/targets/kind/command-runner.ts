/**
 * Everything the kind target does outside its own process goes through a
 * CommandRunner: running docker, kind, kubectl and helm, starting and
 * stopping port-forward processes, probing local ports and reading Kafka
 * metadata. The real runner does these things; the recorded runner
 * (recorded-runner.ts) replays a script of them in tests.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import { Kafka, logLevel } from 'kafkajs';

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  /** Kills the command with SIGTERM after this many milliseconds; exitCode is then 124. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface BackgroundOptions {
  /** File that receives the process's stdout and stderr. */
  logPath: string;
  cwd?: string;
}

export interface CommandRunner {
  /** Runs a command to completion. A command that is not installed returns exit code 127. */
  run(command: string, args: readonly string[], options?: RunOptions): Promise<CommandResult>;
  /** Starts a detached process that outlives this one; returns its PID. */
  spawnBackground(command: string, args: readonly string[], options: BackgroundOptions): Promise<number>;
  isAlive(pid: number): Promise<boolean>;
  kill(pid: number, signal: NodeJS.Signals): Promise<void>;
  /** True when nothing listens on 127.0.0.1:port. */
  isPortFree(port: number): Promise<boolean>;
  /** Reads cluster metadata through the bootstrap brokers; returns the advertised brokers as host:port. */
  readKafkaBrokers(bootstrap: readonly string[]): Promise<string[]>;
}

/** Exit code of a command that could not be started because it is not installed (as in sh). */
export const EXIT_COMMAND_NOT_FOUND = 127;
/** Exit code of a command killed after its timeout (as in coreutils timeout). */
export const EXIT_COMMAND_TIMED_OUT = 124;

function runProcess(command: string, args: readonly string[], options: RunOptions): Promise<CommandResult> {
  return new Promise((resolvePromise) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      signal: options.signal,
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = options.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          child.kill('SIGTERM');
        }, options.timeoutMs)
      : undefined;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const exitCode = error.code === 'ENOENT' ? EXIT_COMMAND_NOT_FOUND : 1;
      resolvePromise({ exitCode, stdout, stderr: `${stderr}${error.message}\n` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) {
        resolvePromise({ exitCode: EXIT_COMMAND_TIMED_OUT, stdout, stderr: `${stderr}timed out after ${options.timeoutMs} ms\n` });
        return;
      }
      resolvePromise({ exitCode: code ?? (signal ? 128 : 1), stdout, stderr });
    });
  });
}

function probePortFree(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const server = createServer();
    server.once('error', () => resolvePromise(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => {
      server.close(() => resolvePromise(true));
    });
  });
}

async function describeKafkaBrokers(bootstrap: readonly string[]): Promise<string[]> {
  const kafka = new Kafka({
    clientId: 'soma-harness-kind-check',
    brokers: [...bootstrap],
    connectionTimeout: 3000,
    retry: { retries: 2 },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const cluster = await admin.describeCluster();
    return cluster.brokers.map((broker) => `${broker.host}:${broker.port}`);
  } finally {
    await admin.disconnect();
  }
}

/** The runner that really spawns processes and opens sockets. */
export function createProcessRunner(): CommandRunner {
  return {
    run: (command, args, options = {}) => runProcess(command, args, options),

    async spawnBackground(command, args, options) {
      const logFd = openSync(options.logPath, 'a');
      try {
        const child = spawn(command, args, {
          cwd: options.cwd,
          detached: true,
          stdio: ['ignore', logFd, logFd],
        });
        const pid = await new Promise<number>((resolvePromise, reject) => {
          child.once('error', reject);
          child.once('spawn', () => resolvePromise(child.pid ?? -1));
        });
        child.unref();
        return pid;
      } finally {
        closeSync(logFd);
      }
    },

    async isAlive(pid) {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    },

    async kill(pid, signal) {
      try {
        process.kill(pid, signal);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      }
    },

    isPortFree: probePortFree,
    readKafkaBrokers: describeKafkaBrokers,
  };
}
