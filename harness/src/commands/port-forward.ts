/**
 * `soma-harness port-forward start|stop|status`: the kind target's managed
 * port-forwards (API, Postgres, Qdrant) with PID and log files under the
 * target's state directory.
 */
import { existsSync } from 'node:fs';
import { EXIT_PASSED, usageError, type ExitCode } from '../exit-codes.js';
import { createProcessRunner } from '../targets/kind/command-runner.js';
import { PortForwards } from '../targets/kind/port-forwards.js';
import { resolveKindSettings } from '../targets/kind/settings.js';
import type { Command, CommandContext, ParsedArgs } from './types.js';

const ACTIONS = ['start', 'stop', 'status'] as const;
type Action = (typeof ACTIONS)[number];

const USAGE = `
Usage: soma-harness port-forward start|stop|status [options]

Manages kubectl port-forwards to the kind target's API (127.0.0.1:9595),
Postgres (127.0.0.1:15432) and Qdrant (127.0.0.1:16333). Each forward has a PID
file and a log file under <state-dir>/port-forwards. Kafka needs no forward:
the broker's external listener is published on 127.0.0.1:30092 by kind.

  start   start the forwards that are not running (a running one is reused);
          they keep running after this command returns
  stop    stop every forward and remove its PID file
  status  list the forwards with PID, port and whether the process is alive

Options:
  --target kind       the only target with port-forwards (default kind)
  --foreground        with start: keep watching, restart forwards that drop
                      (e.g. when a pod is replaced), stop them all on Ctrl-C
  --state-dir DIR     state directory of the kind target (default .soma/kind)
  --json              status as JSON
  --quiet             no progress output

Ports: SOMA_KIND_API_PORT, SOMA_KIND_POSTGRES_PORT, SOMA_KIND_QDRANT_PORT.
`;

function parseAction(args: ParsedArgs): Action {
  const [action, ...extra] = args.positionals;
  if (!action || !(ACTIONS as readonly string[]).includes(action) || extra.length > 0) {
    throw usageError(`port-forward needs one of ${ACTIONS.join(', ')}; got "${args.positionals.join(' ')}"`, 'run `soma-harness port-forward --help`');
  }
  return action as Action;
}

function waitForAbort(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolvePromise) => signal.addEventListener('abort', () => resolvePromise(), { once: true }));
}

async function run(args: ParsedArgs, context: CommandContext): Promise<ExitCode> {
  const action = parseAction(args);
  const target = (args.values.target as string | undefined) ?? 'kind';
  if (target !== 'kind') {
    throw usageError(`--target ${target} has no port-forwards`, 'only --target kind uses port-forwards; the local target listens on loopback ports directly');
  }
  const settings = resolveKindSettings({ rootDir: context.rootDir, env: context.env, stateDir: args.values['state-dir'] as string | undefined });
  const forwards = new PortForwards(createProcessRunner(), settings, context.progress);

  if (action === 'status') {
    const statuses = await forwards.status();
    if (args.values.json) {
      context.stdout.write(`${JSON.stringify(statuses, null, 2)}\n`);
    } else {
      for (const entry of statuses) {
        let state = 'stopped';
        if (entry.alive) state = 'running';
        else if (entry.pid) state = 'dead';
        context.stdout.write(`${entry.name.padEnd(9)} 127.0.0.1:${String(entry.localPort).padEnd(6)} ${state.padEnd(8)} ${entry.pid ? `pid ${entry.pid}` : ''}  ${entry.logPath}\n`);
      }
    }
    return EXIT_PASSED;
  }

  if (action === 'stop') {
    const stopped = await forwards.stop();
    context.progress({ kind: 'info', message: stopped.length ? `stopped port-forwards (pids ${stopped.join(', ')})` : 'no port-forward was running' });
    return EXIT_PASSED;
  }

  if (!existsSync(settings.kubeconfigPath)) {
    throw usageError(`no kubeconfig at ${settings.kubeconfigPath}`, 'run `soma-harness up --target kind` first');
  }
  const started = await forwards.start(context.signal);
  for (const entry of started) context.progress({ kind: 'info', message: `${entry.name}: 127.0.0.1:${entry.localPort} (pid ${entry.pid}, log ${entry.logPath})` });
  if (!args.values.foreground) return EXIT_PASSED;

  const stopWatching = forwards.watch(1000);
  context.progress({ kind: 'info', message: 'watching the port-forwards; press Ctrl-C to stop them' });
  try {
    await waitForAbort(context.signal);
  } finally {
    stopWatching();
    await forwards.stop();
  }
  return EXIT_PASSED;
}

export const portForwardCommand: Command = {
  name: 'port-forward',
  summary: 'start, stop or list the kind target port-forwards (API, Postgres, Qdrant)',
  usage: USAGE,
  options: {
    target: { type: 'string' },
    foreground: { type: 'boolean' },
    'state-dir': { type: 'string' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
  },
  allowPositionals: true,
  run,
};
