/** Exit codes of soma-harness. Each has one meaning so CI can tell a slow release from a broken one. */
export const EXIT_PASSED = 0;
/** A performance threshold failed (or `compare` found a regression). */
export const EXIT_THRESHOLD_FAILED = 1;
/** Usage or environment error: missing tool, unreachable target, invalid scenario. */
export const EXIT_USAGE = 2;
/** A data invariant failed: an item lost, partial, duplicated, phantom or mismatched, or lag not drained. */
export const EXIT_INVARIANT_FAILED = 3;
/** The run is invalid: the load generator saturated its CPU, or there was too little data to judge. */
export const EXIT_RUN_INVALID = 4;

/**
 * Interrupted by SIGINT or SIGTERM (Ctrl-C): 128 + 2, as shells report a
 * process that SIGINT ended. It is no verdict: the run did not finish.
 */
export const EXIT_INTERRUPTED = 130;

export type ExitCode =
  | typeof EXIT_PASSED
  | typeof EXIT_THRESHOLD_FAILED
  | typeof EXIT_USAGE
  | typeof EXIT_INVARIANT_FAILED
  | typeof EXIT_RUN_INVALID
  | typeof EXIT_INTERRUPTED;

/**
 * An error that ends the CLI with a given exit code. `hint` says what to
 * install or set; the CLI prints it under the message.
 */
export class HarnessError extends Error {
  readonly exitCode: ExitCode;
  readonly hint?: string;

  constructor(message: string, options: { exitCode: ExitCode; hint?: string; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = 'HarnessError';
    this.exitCode = options.exitCode;
    this.hint = options.hint;
  }
}

/** Shorthand for an exit-2 error that names what to install or set. */
export function usageError(message: string, hint?: string, cause?: unknown): HarnessError {
  return new HarnessError(message, { exitCode: EXIT_USAGE, hint, cause });
}

/**
 * The reason a command stopped early on SIGINT or SIGTERM. The CLI aborts its
 * signal with one, so code that rethrows `signal.reason` throws it too.
 */
export class InterruptedError extends HarnessError {
  constructor(message: string) {
    super(message, { exitCode: EXIT_INTERRUPTED });
    this.name = 'InterruptedError';
  }
}

/** Returns whether `error` is an interruption: an InterruptedError, or the AbortError that an aborted child process or fetch raises. */
export function isInterruption(error: unknown): boolean {
  return error instanceof InterruptedError || (error instanceof Error && error.name === 'AbortError');
}
