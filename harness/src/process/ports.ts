import { createServer, Socket } from 'node:net';

export const LOOPBACK = '127.0.0.1';

/** Returns a TCP port on 127.0.0.1 that was free a moment ago (the kernel picks it). */
export async function findFreePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK, resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('could not read the port of a listening socket');
  return address.port;
}

/** Checks that nothing listens on `port` of 127.0.0.1 by binding it. */
export async function isPortFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, LOOPBACK, () => server.close(() => resolve(true)));
  });
}

/**
 * Returns `preferred` when it is still free (so a restarted component keeps its
 * address), otherwise a new free port. Ports in `taken` are never returned.
 */
export async function choosePort(preferred: number | undefined, taken: ReadonlySet<number> = new Set()): Promise<number> {
  if (preferred && !taken.has(preferred) && (await isPortFree(preferred))) return preferred;
  for (;;) {
    const port = await findFreePort();
    if (!taken.has(port)) return port;
  }
}

/** Checks whether a TCP connection to host:port succeeds within `timeoutMs`. */
export async function isPortOpen(port: number, host = LOOPBACK, timeoutMs = 1000): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = new Socket();
    const finish = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('error', () => finish(false));
    socket.connect(port, host, () => finish(true));
  });
}
