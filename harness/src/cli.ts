import { parseArgs } from 'node:util';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT_USAGE, HarnessError, type ExitCode } from './exit-codes.js';
import { createProgressWriter } from './progress.js';
import type { Command, CommandContext } from './commands/types.js';
import { COMMANDS } from './commands/index.js';

const ROOT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function formatCommandList(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  const lines = COMMANDS.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`);
  return [
    'Usage: soma-harness <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `soma-harness <command> --help` for the options of one command.',
    'Exit codes: 0 passed, 1 threshold failed, 2 usage or environment error,',
    '            3 data invariant failed, 4 run invalid.',
  ].join('\n');
}

function findCommand(name: string): Command | undefined {
  return COMMANDS.find((command) => command.name === name);
}

/** Aborts the returned signal on the first SIGINT or SIGTERM; a second one exits at once. */
function abortOnSignals(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write(`\nreceived ${signal}, cleaning up (press Ctrl-C again to exit at once)\n`);
    controller.abort(new Error(`interrupted by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const dispose = () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  return { signal: controller.signal, dispose };
}

function reportError(error: unknown, stderr: NodeJS.WritableStream): ExitCode {
  if (error instanceof HarnessError) {
    stderr.write(`error: ${error.message}\n`);
    if (error.hint) stderr.write(`hint: ${error.hint}\n`);
    return error.exitCode;
  }
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  stderr.write(`error: ${text}\n`);
  return EXIT_USAGE;
}

/** Parses argv, runs one command and returns its exit code. Never calls process.exit itself. */
export async function main(argv: string[], overrides: Partial<CommandContext> = {}): Promise<ExitCode> {
  const stdout = overrides.stdout ?? process.stdout;
  const stderr = overrides.stderr ?? process.stderr;
  const [name, ...rest] = argv;

  if (!name || name === '--help' || name === '-h' || name === 'help') {
    (name ? stdout : stderr).write(`${formatCommandList()}\n`);
    return name ? 0 : EXIT_USAGE;
  }
  const command = findCommand(name);
  if (!command) {
    stderr.write(`error: unknown command "${name}"\n\n${formatCommandList()}\n`);
    return EXIT_USAGE;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    stdout.write(`${command.usage.trim()}\n`);
    return 0;
  }

  let args;
  try {
    args = parseArgs({
      args: rest,
      options: command.options,
      allowPositionals: command.allowPositionals ?? false,
      strict: true,
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    stderr.write(`error: ${message}\n\n${command.usage.trim()}\n`);
    return EXIT_USAGE;
  }

  const quiet = args.values.quiet === true || args.values.json === true;
  const { signal, dispose } = overrides.signal
    ? { signal: overrides.signal, dispose: () => {} }
    : abortOnSignals();
  const context: CommandContext = {
    rootDir: overrides.rootDir ?? ROOT_DIR,
    env: overrides.env ?? process.env,
    progress: overrides.progress ?? createProgressWriter({ stream: stderr, quiet }),
    stdout,
    stderr,
    signal,
  };
  try {
    return await command.run(args, context);
  } catch (error) {
    return reportError(error, stderr);
  } finally {
    dispose();
  }
}
