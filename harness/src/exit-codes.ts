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

export type ExitCode =
  | typeof EXIT_PASSED
  | typeof EXIT_THRESHOLD_FAILED
  | typeof EXIT_USAGE
  | typeof EXIT_INVARIANT_FAILED
  | typeof EXIT_RUN_INVALID;

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
