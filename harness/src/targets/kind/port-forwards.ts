/**
 * Managed `kubectl port-forward` processes for the API, Postgres and Qdrant.
 * Each runs detached, so it outlives the command that started it, with a PID
 * file and a log file under <stateDir>/port-forwards. Starting is idempotent
 * (a live forward is reused), a forward that died is restarted by `ensure`
 * and by the watchdog, and `stop` ends every forward from its PID file.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { usageError } from '../../exit-codes.js';
import type { ProgressSink } from '../../progress.js';
import type { CommandRunner } from './command-runner.js';
import { kubectlArgs } from './kube.js';
import type { ForwardSpec, KindSettings } from './settings.js';

export interface ForwardStatus {
  name: ForwardSpec['name'];
  localPort: number;
  pid?: number;
  alive: boolean;
  logPath: string;
}

/** How long a new forward may take to accept connections. */
const FORWARD_READY_TIMEOUT_MS = 15_000;
const FORWARD_POLL_MS = 250;

export class PortForwards {
  readonly dir: string;

  constructor(
    private readonly runner: CommandRunner,
    private readonly settings: KindSettings,
    private readonly progress: ProgressSink,
  ) {
    this.dir = join(settings.stateDir, 'port-forwards');
  }

  pidPath(name: string): string {
    return join(this.dir, `${name}.pid`);
  }

  logPath(name: string): string {
    return join(this.dir, `${name}.log`);
  }

  private readPid(name: string): number | undefined {
    try {
      const pid = Number(readFileSync(this.pidPath(name), 'utf8').trim());
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /** Starts every forward that is not running; fails when a local port is taken by another process. */
  async start(signal?: AbortSignal): Promise<ForwardStatus[]> {
    mkdirSync(this.dir, { recursive: true });
    const statuses: ForwardStatus[] = [];
    for (const spec of this.settings.forwards) {
      statuses.push(await this.startOne(spec, { checkPort: true, signal }));
    }
    return statuses;
  }

  /** Restarts forwards whose process died (e.g. because the pod behind them was replaced). */
  async ensure(signal?: AbortSignal): Promise<ForwardStatus[]> {
    mkdirSync(this.dir, { recursive: true });
    const statuses: ForwardStatus[] = [];
    for (const spec of this.settings.forwards) {
      statuses.push(await this.startOne(spec, { checkPort: false, signal }));
    }
    return statuses;
  }

  private async startOne(spec: ForwardSpec, options: { checkPort: boolean; signal?: AbortSignal }): Promise<ForwardStatus> {
    const logPath = this.logPath(spec.name);
    const existing = this.readPid(spec.name);
    if (existing !== undefined && (await this.runner.isAlive(existing))) {
      return { name: spec.name, localPort: spec.localPort, pid: existing, alive: true, logPath };
    }
    if (existing !== undefined) {
      this.progress({ kind: 'warn', message: `port-forward ${spec.name} (pid ${existing}) is gone; restarting it (log: ${logPath})` });
      rmSync(this.pidPath(spec.name), { force: true });
    }
    if (options.checkPort && !(await this.runner.isPortFree(spec.localPort))) {
      throw usageError(
        `port ${spec.localPort} on 127.0.0.1 (port-forward for ${spec.name}) is in use by another process`,
        `stop that process or set SOMA_KIND_${spec.name.toUpperCase()}_PORT to a free port`,
      );
    }

    const args = kubectlArgs(this.settings, ['port-forward', '--address', '127.0.0.1', `service/${spec.service}`, `${spec.localPort}:${spec.remotePort}`]);
    const pid = await this.runner.spawnBackground('kubectl', args, { logPath, cwd: this.settings.rootDir });
    writeFileSync(this.pidPath(spec.name), `${pid}\n`);
    await this.waitUntilListening(spec, pid, logPath, options.signal);
    return { name: spec.name, localPort: spec.localPort, pid, alive: true, logPath };
  }

  private async waitUntilListening(spec: ForwardSpec, pid: number, logPath: string, signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + FORWARD_READY_TIMEOUT_MS;
    for (;;) {
      if (!(await this.runner.isPortFree(spec.localPort))) return;
      if (!(await this.runner.isAlive(pid))) {
        rmSync(this.pidPath(spec.name), { force: true });
        throw usageError(`port-forward ${spec.name} (pid ${pid}) exited before listening on 127.0.0.1:${spec.localPort}`, `read ${logPath}`);
      }
      if (Date.now() > deadline) {
        throw usageError(`port-forward ${spec.name} did not listen on 127.0.0.1:${spec.localPort} within ${FORWARD_READY_TIMEOUT_MS / 1000}s`, `read ${logPath}`);
      }
      await sleep(FORWARD_POLL_MS, undefined, { signal });
    }
  }

  /** Stops every forward that has a PID file and removes the PID files. */
  async stop(): Promise<number[]> {
    const stopped: number[] = [];
    for (const spec of this.settings.forwards) {
      const pid = this.readPid(spec.name);
      if (pid === undefined) continue;
      if (await this.runner.isAlive(pid)) {
        await this.runner.kill(pid, 'SIGTERM');
        stopped.push(pid);
      }
      rmSync(this.pidPath(spec.name), { force: true });
    }
    return stopped;
  }

  async status(): Promise<ForwardStatus[]> {
    const statuses: ForwardStatus[] = [];
    for (const spec of this.settings.forwards) {
      const pid = this.readPid(spec.name);
      const alive = pid !== undefined && (await this.runner.isAlive(pid));
      statuses.push({ name: spec.name, localPort: spec.localPort, ...(pid === undefined ? {} : { pid }), alive, logPath: this.logPath(spec.name) });
    }
    return statuses;
  }

  /**
   * Checks the forwards every `intervalMs` and restarts dead ones until the
   * returned function is called. The timer does not keep the process alive.
   */
  watch(intervalMs = 2000): () => void {
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      this.ensure()
        .catch((error: unknown) => this.progress({ kind: 'warn', message: `port-forward watchdog: ${error instanceof Error ? error.message : String(error)}` }))
        .finally(() => {
          running = false;
        });
    }, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }
}
