/**
 * A stand-in CommandRunner for tests of the kind target. No kind cluster,
 * Docker image registry or helm install can run on the CI machines, so tests
 * give this runner the exact list of calls the target must make, with a canned
 * result for each. It fails on the first call that differs from the script and
 * reports what was expected, so a test pins the command list of every branch.
 *
 * Each call is written as one line: `run: helm status soma-memory ...`,
 * `spawn: kubectl port-forward ...`, `alive: 4242`, `kill: 4242 SIGTERM`,
 * `port-free: 9595`, `kafka-brokers: 127.0.0.1:30092`.
 */
import { writeFileSync } from 'node:fs';
import type { CommandResult, CommandRunner } from './command-runner.js';

export interface RecordedCall {
  /** The call line, e.g. `run: kind get clusters`. */
  call: string;
  /** For `run:` calls; missing fields default to exit 0 and empty output. */
  result?: Partial<CommandResult>;
  /** For `spawn:` calls: the PID to return. */
  pid?: number;
  /** For `alive:` and `port-free:` calls. */
  answer?: boolean;
  /** For `kafka-brokers:` calls: the advertised brokers, or an error message to throw. */
  brokers?: string[];
  error?: string;
}

export class UnexpectedCallError extends Error {
  constructor(actual: string, expected: string | undefined, index: number) {
    super(
      expected === undefined
        ? `unexpected call #${index + 1} after the end of the script: ${actual}`
        : `call #${index + 1} differs from the script\n  expected: ${expected}\n  actual:   ${actual}`,
    );
    this.name = 'UnexpectedCallError';
  }
}

export interface RecordedRunner extends CommandRunner {
  /** Every call made so far, as call lines. */
  readonly calls: string[];
  /** Throws when the script still has calls that were not made. */
  assertDone(): void;
}

/** Formats argv as one line; arguments with spaces are quoted. */
export function formatCall(kind: string, command: string, args: readonly string[] = []): string {
  const words = [command, ...args].map((word) => (/[\s"]/.test(word) ? JSON.stringify(word) : word));
  return `${kind}: ${words.join(' ')}`;
}

export function createRecordedRunner(script: readonly RecordedCall[]): RecordedRunner {
  const calls: string[] = [];
  let failure: Error | undefined;

  const take = (line: string): RecordedCall => {
    const index = calls.length;
    calls.push(line);
    const expected = script[index];
    if (failure) throw failure;
    if (!expected || expected.call !== line) {
      failure = new UnexpectedCallError(line, expected?.call, index);
      throw failure;
    }
    return expected;
  };

  return {
    calls,

    async run(command, args) {
      const entry = take(formatCall('run', command, args));
      return { exitCode: 0, stdout: '', stderr: '', ...entry.result };
    },

    async spawnBackground(command, args, options) {
      const entry = take(formatCall('spawn', command, args));
      writeFileSync(options.logPath, `recorded: ${command} ${args.join(' ')}\n`, { flag: 'a' });
      return entry.pid ?? 10_000 + calls.length;
    },

    async isAlive(pid) {
      return take(`alive: ${pid}`).answer ?? true;
    },

    async kill(pid, signal) {
      take(`kill: ${pid} ${signal}`);
    },

    async isPortFree(port) {
      return take(`port-free: ${port}`).answer ?? true;
    },

    async readKafkaBrokers(bootstrap) {
      const entry = take(`kafka-brokers: ${bootstrap.join(',')}`);
      if (entry.error) throw new Error(entry.error);
      return entry.brokers ?? [...bootstrap];
    },

    assertDone() {
      if (failure) throw failure;
      if (calls.length < script.length) {
        const missing = script.slice(calls.length).map((entry) => `  ${entry.call}`);
        throw new Error(`the target stopped after ${calls.length} of ${script.length} scripted calls; not made:\n${missing.join('\n')}`);
      }
    },
  };
}
