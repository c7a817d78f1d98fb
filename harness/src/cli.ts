import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT_INTERRUPTED, EXIT_PASSED, EXIT_USAGE, HarnessError, InterruptedError, type ExitCode } from './exit-codes.js';
import { createProgressWriter } from './progress.js';
import type { Command, CommandContext } from './commands/types.js';
import { COMMANDS } from './commands/index.js';

const ROOT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function formatGlobalOptions(): string {
  return [
    'Global options:',
    '  --help, -h   print the command list (or `soma-harness <command> --help`)',
    '  --version    print the version and git commit',
  ].join('\n');
}

function formatCommandList(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  const lines = COMMANDS.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`);
  return [
    'Usage: soma-harness <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    formatGlobalOptions(),
    '',
    'Run `soma-harness <command> --help` or `soma-harness help <command>` for the',
    'options of one command.',
    'Exit codes: 0 passed, 1 threshold failed, 2 usage or environment error,',
    '            3 data invariant failed, 4 run invalid; 130 interrupted (Ctrl-C).',
  ].join('\n');
}

function findCommand(name: string): Command | undefined {
  return COMMANDS.find((command) => command.name === name);
}

/** Returns `soma-harness <version> (git <sha>)`, the sha only when `rootDir` is a git checkout. */
export function formatVersion(rootDir: string): string {
  let version = 'unknown';
  try {
    version = (JSON.parse(readFileSync(join(rootDir, 'package.json'), 'utf8')) as { version?: string }).version ?? version;
  } catch {
    // A missing or unreadable package.json leaves the version unknown.
  }
  let sha = '';
  try {
    sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: rootDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim();
  } catch {
    // Not a git checkout, or git is not installed.
  }
  return `soma-harness ${version}${sha ? ` (git ${sha})` : ''}`;
}

const NEGATIVE_NUMBER = /^-(?:\d|\.\d)/;

/**
 * Joins `--name -5` into `--name=-5` for options that take a value, so that
 * a negative number reaches the command's own range check. Without this,
 * node:util parseArgs reads `-5` as the short option "5". No command defines
 * a digit as a short option, so such an argument is never a flag.
 */
export function joinNegativeValues(args: readonly string[], options: Command['options']): string[] {
  const joined: string[] = [];
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index] as string;
    if (arg === '--') {
      joined.push(...args.slice(index));
      break;
    }
    const next = args[index + 1];
    const takesValue = arg.startsWith('--') && !arg.includes('=') && options[arg.slice(2)]?.type === 'string';
    if (takesValue && next !== undefined && NEGATIVE_NUMBER.test(next)) {
      joined.push(`${arg}=${next}`);
      index += 1;
    } else {
      joined.push(arg);
    }
  }
  return joined;
}

function optionName(message: string): string | undefined {
  return /^Option '(-{1,2}[^' ]+)/.exec(message)?.[1] ?? /^Unknown option '([^']+)'/.exec(message)?.[1];
}

/**
 * Rewords a node:util parseArgs error as one `error:` line naming the option
 * and the command, plus a `hint:` line pointing at the command's help.
 */
export function describeParseError(command: Command, error: unknown): { message: string; hint: string } {
  const hint = `run \`soma-harness ${command.name} --help\` for its options`;
  const code = (error as { code?: string }).code;
  const text = error instanceof Error ? error.message : String(error);
  const option = optionName(text);
  const expectsValue = option !== undefined && command.options[option.replace(/^-+/, '')]?.type === 'string';
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return { message: `unknown option ${option ?? text} for "${command.name}"`, hint };
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (expectsValue) {
        return { message: `option ${option} of "${command.name}" needs a value`, hint: `pass it as ${option} VALUE or ${option}=VALUE; ${hint}` };
      }
      return { message: `option ${option ?? text} of "${command.name}" takes no value`, hint };
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL': {
      const argument = /^Unexpected argument '([^']*)'/.exec(text)?.[1] ?? text;
      return { message: `"${command.name}" takes no arguments, found "${argument}"`, hint };
    }
    default:
      return { message: `${text.split('\n')[0]} (for "${command.name}")`, hint };
  }
}

/** Aborts the returned signal with an InterruptedError on the first SIGINT or SIGTERM; a second one exits at once. */
function abortOnSignals(stderr: NodeJS.WritableStream): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(EXIT_INTERRUPTED);
    stderr.write(`\nreceived ${signal}, cleaning up (press Ctrl-C again to exit at once)\n`);
    controller.abort(new InterruptedError(`interrupted by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const dispose = () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  return { signal: controller.signal, dispose };
}

/**
 * Prints the one line of an interrupted command: the InterruptedError it
 * threw (which says what it cleaned up), else the signal's own reason.
 */
function reportInterruption(error: unknown, signal: AbortSignal, stderr: NodeJS.WritableStream): ExitCode {
  const reason = error instanceof InterruptedError ? error : signal.reason;
  const message = reason instanceof Error ? reason.message : 'interrupted';
  stderr.write(`${message} (exit ${EXIT_INTERRUPTED})\n`);
  return EXIT_INTERRUPTED;
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
  const rootDir = overrides.rootDir ?? ROOT_DIR;
  const [name, ...rest] = argv;

  if (!name) {
    stderr.write(`error: missing command\n\n${formatCommandList()}\n`);
    return EXIT_USAGE;
  }
  if (name === '--version') {
    stdout.write(`${formatVersion(rootDir)}\n`);
    return EXIT_PASSED;
  }
  if (name === '--help' || name === '-h' || (name === 'help' && rest.length === 0)) {
    stdout.write(`${formatCommandList()}\n`);
    return EXIT_PASSED;
  }
  const commandName = name === 'help' ? (rest[0] as string) : name;
  if (commandName.startsWith('-')) {
    stderr.write(
      `error: unknown option ${commandName}\n` +
        'hint: the options of a command go after its name; run `soma-harness --help` for the commands\n\n' +
        `${formatGlobalOptions()}\n`,
    );
    return EXIT_USAGE;
  }
  const command = findCommand(commandName);
  if (!command) {
    stderr.write(`error: unknown command "${commandName}"\n\n${formatCommandList()}\n`);
    return EXIT_USAGE;
  }
  if (name === 'help' || rest.includes('--help') || rest.includes('-h')) {
    stdout.write(`${command.usage.trim()}\n`);
    return EXIT_PASSED;
  }

  let args;
  try {
    args = parseArgs({
      args: joinNegativeValues(rest, command.options),
      options: command.options,
      allowPositionals: command.allowPositionals ?? false,
      strict: true,
    });
  } catch (error) {
    const { message, hint } = describeParseError(command, error);
    stderr.write(`error: ${message}\nhint: ${hint}\n`);
    return EXIT_USAGE;
  }

  const quiet = args.values.quiet === true || args.values.json === true;
  const { signal, dispose } = overrides.signal
    ? { signal: overrides.signal, dispose: () => {} }
    : abortOnSignals(stderr);
  const context: CommandContext = {
    rootDir,
    env: overrides.env ?? process.env,
    progress: overrides.progress ?? createProgressWriter({ stream: stderr, quiet }),
    stdout,
    stderr,
    signal,
  };
  try {
    const code = await command.run(args, context);
    return signal.aborted ? reportInterruption(undefined, signal, stderr) : code;
  } catch (error) {
    if (signal.aborted || error instanceof InterruptedError) return reportInterruption(error, signal, stderr);
    return reportError(error, stderr);
  } finally {
    dispose();
  }
}
