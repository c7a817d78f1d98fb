/**
 * Live status lines for long phases (load, verification polling). On a TTY one
 * line is redrawn in place; elsewhere a plain line is printed at most every
 * `plainIntervalMs`. Colour only on a TTY and only when NO_COLOR is unset or empty.
 */
import { formatDuration } from '../scenario/duration.js';
import type { LoadProgress } from './types.js';

export interface LiveProgressOptions {
  stream: NodeJS.WritableStream & { isTTY?: boolean };
  /** False for --quiet and --json: nothing is written. */
  enabled: boolean;
  env?: NodeJS.ProcessEnv;
  /** Minimum time between redraws on a TTY. */
  ttyIntervalMs?: number;
  /** Minimum time between plain lines when not on a TTY. */
  plainIntervalMs?: number;
}

export interface LiveStatus {
  /** Shows `text` now or at the next interval; the last text is kept for `done`. */
  update(text: string): void;
  /** Ends the live line with `text` on its own line. */
  done(text: string): void;
  /** Ends the live line of a phase that SIGINT or SIGTERM cut short, with `text` and no ✔. */
  interrupted(text: string): void;
}

const CLEAR_LINE = '\r\u001b[2K';

/** Returns whether colour is allowed: on a TTY with NO_COLOR unset or empty (no-color.org: a non-empty value turns colour off). */
export function colorEnabled(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && (env.NO_COLOR === undefined || env.NO_COLOR === '');
}

/** Creates a live status line on `stream`. */
export function createLiveStatus(label: string, options: LiveProgressOptions): LiveStatus {
  const tty = options.stream.isTTY === true;
  const color = colorEnabled(options.stream, options.env);
  const prefix = color ? `\u001b[36m${label}\u001b[39m` : label;
  const interval = tty ? (options.ttyIntervalMs ?? 100) : (options.plainIntervalMs ?? 2000);
  let lastWrite = 0;
  let drawn = false;

  return {
    update(text) {
      if (!options.enabled) return;
      const at = Date.now();
      if (at - lastWrite < interval) return;
      lastWrite = at;
      if (tty) {
        options.stream.write(`${CLEAR_LINE}${prefix}  ${text}`);
        drawn = true;
      } else {
        options.stream.write(`${label}  ${text}\n`);
      }
    },
    done(text) {
      if (!options.enabled) return;
      const mark = color ? '\u001b[32m✔\u001b[39m' : '✔';
      options.stream.write(`${tty && drawn ? CLEAR_LINE : ''}${mark} ${prefix}  ${text}\n`);
    },
    interrupted(text) {
      if (!options.enabled) return;
      const mark = color ? '\u001b[33m■\u001b[39m' : '■';
      options.stream.write(`${tty && drawn ? CLEAR_LINE : ''}${mark} ${prefix}  interrupted: ${text}\n`);
    },
  };
}

/** Formats load progress: items completed, rate, ETA and error counts. */
export function formatLoadProgress(progress: LoadProgress): string {
  const completed = progress.acknowledgedItems + progress.rejectedItems + progress.failedItems;
  const percent = progress.totalItems === 0 ? 100 : Math.floor((completed / progress.totalItems) * 100);
  const seconds = progress.elapsedMs / 1000;
  const rate = seconds > 0 ? completed / seconds : 0;
  const remaining = progress.totalItems - completed;
  const eta = rate > 0 ? formatDuration((remaining / rate) * 1000) : 'unknown';
  const parts = [
    `${completed}/${progress.totalItems} items (${percent}%)`,
    `${Math.round(rate)} items/s`,
    `ETA ${eta}`,
  ];
  if (progress.rejectedItems > 0) parts.push(`rejected ${progress.rejectedItems}`);
  if (progress.failedItems > 0) parts.push(`failed ${progress.failedItems}`);
  if (progress.retries > 0) parts.push(`retries ${progress.retries}`);
  return parts.join('  ');
}
