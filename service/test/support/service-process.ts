/**
 * Runs the service as a real process (`node --import tsx service/src/main.ts`)
 * on a free loopback port, for tests that need signals, several instances or
 * a process that dies.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitFor } from './backends.js';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const ENTRY = join('service', 'src', 'main.ts');

export interface ServiceProcess {
  url: string;
  port: number;
  child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Log lines (pino JSON) parsed from stdout. */
  logLines(): Record<string, unknown>[];
  /** Sends `signal` and waits for the exit; SIGKILL after `graceMs`. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | null>;
  exited: Promise<number | null>;
}

export async function startServiceProcess(
  env: Record<string, string>,
  options: { waitReady?: boolean; port?: number } = {},
): Promise<ServiceProcess> {
  const port = options.port ?? (await freePort());
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', SOMA_HOST: '127.0.0.1', SOMA_PORT: String(port), SOMA_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;

  const processHandle: ServiceProcess = {
    url,
    port,
    child,
    output: () => output,
    logLines: () =>
      output
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => {
          try {
            return JSON.parse(line) as Record<string, unknown>;
          } catch {
            return {};
          }
        }),
    async stop(signal = 'SIGTERM', graceMs = 30_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    exited,
  };

  try {
    await waitFor(
      `service on port ${port} to answer /healthz`,
      async () => {
        if (child.exitCode !== null) throw new Error(`service exited with ${child.exitCode}: ${output.slice(-2000)}`);
        const response = await fetch(`${url}/healthz`).catch(() => undefined);
        return response?.ok ? true : undefined;
      },
      30_000,
    );
    if (options.waitReady ?? true) {
      await waitFor(`service on port ${port} to be ready`, async () => {
        const response = await fetch(`${url}/readyz`).catch(() => undefined);
        return response?.ok ? true : undefined;
      });
    }
  } catch (error) {
    await processHandle.stop('SIGKILL');
    throw new Error(`${(error as Error).message}\n--- service output ---\n${output.slice(-3000)}`);
  }
  return processHandle;
}
