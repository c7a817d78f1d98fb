/**
 * Typed progress events and their formatters. Every long step of the harness
 * reports through these, so a TTY gets live lines and CI logs get plain ones.
 */
import { isInterruption } from './exit-codes.js';

export type ProgressEvent =
  | { kind: 'step-start'; step: string; detail?: string }
  | { kind: 'step-done'; step: string; durationMs: number; detail?: string }
  | { kind: 'step-failed'; step: string; durationMs: number; error: string }
  | { kind: 'step-interrupted'; step: string; durationMs: number }
  | { kind: 'wait'; what: string; timeoutMs: number }
  | { kind: 'wait-done'; what: string; durationMs: number }
  | { kind: 'retry'; what: string; attempt: number; delayMs: number; reason: string }
  | { kind: 'info'; message: string }
  | { kind: 'warn'; message: string };

export type ProgressSink = (event: ProgressEvent) => void;

export interface ProgressWriterOptions {
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  quiet?: boolean;
  color?: boolean;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** Formats one event as a single line without a trailing newline. */
export function formatProgressEvent(event: ProgressEvent): string {
  switch (event.kind) {
    case 'step-start':
      return `▶ ${event.step}${event.detail ? `: ${event.detail}` : ''}`;
    case 'step-done':
      return `✔ ${event.step} (${seconds(event.durationMs)})${event.detail ? `: ${event.detail}` : ''}`;
    case 'step-failed':
      return `✖ ${event.step} failed after ${seconds(event.durationMs)}: ${event.error}`;
    case 'step-interrupted':
      return `■ ${event.step} interrupted after ${seconds(event.durationMs)}`;
    case 'wait':
      return `… waiting for ${event.what} (timeout ${seconds(event.timeoutMs)})`;
    case 'wait-done':
      return `✔ ${event.what} ready after ${seconds(event.durationMs)}`;
    case 'retry':
      return `↻ ${event.what}: attempt ${event.attempt} failed (${event.reason}), retrying in ${event.delayMs} ms`;
    case 'info':
      return `  ${event.message}`;
    case 'warn':
      return `⚠ ${event.message}`;
  }
}

/** Returns a sink that writes formatted events to stderr (or `stream`), unless quiet. */
export function createProgressWriter(options: ProgressWriterOptions = {}): ProgressSink {
  const stream = options.stream ?? process.stderr;
  if (options.quiet) return () => {};
  return (event) => {
    stream.write(`${formatProgressEvent(event)}\n`);
  };
}

/** Runs `work` as a named step, reporting start, done or failure to `sink`. */
export async function runStep<T>(
  sink: ProgressSink | undefined,
  step: string,
  work: () => Promise<T>,
  describe?: (result: T) => string,
): Promise<T> {
  const started = Date.now();
  sink?.({ kind: 'step-start', step });
  try {
    const result = await work();
    sink?.({ kind: 'step-done', step, durationMs: Date.now() - started, detail: describe?.(result) });
    return result;
  } catch (error) {
    // An interruption is reported once, by the command, not by every step it cut short.
    if (isInterruption(error)) throw error;
    const message = error instanceof Error ? error.message : String(error);
    sink?.({ kind: 'step-failed', step, durationMs: Date.now() - started, error: message });
    throw error;
  }
}
