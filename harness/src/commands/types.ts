import type { ParseArgsConfig } from 'node:util';
import type { ExitCode } from '../exit-codes.js';
import type { ProgressSink } from '../progress.js';

/** What every command receives besides its own parsed arguments. */
export interface CommandContext {
  /** Repository root (where package.json, scenarios/ and helm/ live). */
  rootDir: string;
  env: NodeJS.ProcessEnv;
  progress: ProgressSink;
  /** Standard output for results (`--json` output, tables). Progress goes to stderr. */
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Aborted on SIGINT or SIGTERM so long steps can clean up and return. */
  signal: AbortSignal;
}

export interface ParsedArgs {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
}

/** One sub-command of soma-harness. */
export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Full help text, printed by `soma-harness <name> --help`. */
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** Whether positional arguments are allowed. */
  allowPositionals?: boolean;
  run(args: ParsedArgs, context: CommandContext): Promise<ExitCode>;
}
