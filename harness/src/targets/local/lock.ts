import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isPidAlive, sleep } from '../../process/daemon.js';
import { usageError } from '../../exit-codes.js';

const LOCK_DIR_NAME = 'lock';
const POLL_MS = 200;

/**
 * Runs `work` while holding a lock on the state dir, so two `up`/`down` calls
 * on one state dir never start or stop the same component twice. The lock is
 * a folder (mkdir is atomic) holding the owner's PID; a lock whose owner died
 * is taken over.
 */
export async function withStateLock<T>(stateDir: string, timeoutMs: number, work: () => Promise<T>): Promise<T> {
  const lockDir = join(stateDir, LOCK_DIR_NAME);
  const ownerFile = join(lockDir, 'pid');
  mkdirSync(stateDir, { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(ownerFile, String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = readOwner(ownerFile);
      if (owner !== undefined && owner !== process.pid && !isPidAlive(owner)) {
        rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw usageError(
          `the state dir ${stateDir} is locked by process ${owner ?? 'unknown'}`,
          `wait for that soma-harness call to finish, or delete ${lockDir} if no such process runs`,
        );
      }
      await sleep(POLL_MS);
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

function readOwner(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    // The owner created the folder but has not written its PID yet.
    return undefined;
  }
}
