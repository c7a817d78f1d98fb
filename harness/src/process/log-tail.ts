import { open } from 'node:fs/promises';

/** Bytes read from the end of a log; enough for a few dozen long lines. */
const TAIL_BYTES = 64 * 1024;

/**
 * Returns the last `lines` lines of a text file, or an empty array when the
 * file does not exist. Reads at most the last 64 KiB.
 */
export async function readLogTail(path: string, lines = 20): Promise<string[]> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  try {
    const { size } = await handle.stat();
    const start = Math.max(0, size - TAIL_BYTES);
    const buffer = Buffer.alloc(size - start);
    await handle.read(buffer, 0, buffer.length, start);
    const text = buffer.toString('utf8').replace(/\r/g, '');
    const all = text.split('\n');
    if (all.at(-1) === '') all.pop();
    // A read that starts mid-file begins with a partial line.
    if (start > 0) all.shift();
    return all.slice(-lines);
  } finally {
    await handle.close();
  }
}

/** Formats a log tail for an error message: a header line and indented lines. */
export function formatLogTail(path: string, tail: string[]): string {
  if (tail.length === 0) return `(log ${path} is empty or missing)`;
  return [`last ${tail.length} lines of ${path}:`, ...tail.map((line) => `  | ${line}`)].join('\n');
}
