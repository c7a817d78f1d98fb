/**
 * A loopback TCP proxy that a test can take down and bring back on the same
 * port, to make a dependency unreachable without stopping the shared backend.
 * It can also hold client bytes, so that a request sent meanwhile stays in
 * flight until the test releases it or the client dies.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  /** Closes the listener and cuts every open connection. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  /** Stops forwarding client bytes upstream and keeps them, in order, per connection. Replies still flow back. */
  hold(): void;
  /** Forwards the kept bytes of connections whose client is still open, then forwards as usual. */
  release(): void;
  /** The client bytes kept since the last hold(), decoded as latin1, for matching request lines or statement names. */
  heldText(): string;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  let holding = false;
  let heldChunks: Buffer[] = [];
  /** Writes to run on release, in arrival order. */
  let pending: (() => void)[] = [];

  function forward(client: Socket, upstream: Socket): void {
    client.on('data', (chunk: Buffer) => {
      if (!holding) {
        upstream.write(chunk);
        return;
      }
      heldChunks.push(chunk);
      pending.push(() => {
        if (!client.destroyed && !upstream.destroyed) upstream.write(chunk);
      });
    });
    client.on('end', () => {
      if (holding) pending.push(() => upstream.end());
      else upstream.end();
    });
    upstream.pipe(client);
  }

  function listen(): Promise<void> {
    const created = createServer((client) => {
      const upstream = createConnection({ host: targetHost, port: targetPort });
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      forward(client, upstream);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    server = created;
    return new Promise((resolve, reject) => {
      created.once('error', reject);
      created.listen(port, '127.0.0.1', () => {
        const address = created.address();
        if (typeof address === 'object' && address !== null) port = address.port;
        resolve();
      });
    });
  }

  await listen();
  return {
    get port() {
      return port;
    },
    async stop() {
      const closing = server;
      server = undefined;
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => (closing ? closing.close(() => resolve()) : resolve()));
    },
    start: listen,
    hold() {
      holding = true;
      heldChunks = [];
    },
    release() {
      holding = false;
      const writes = pending;
      pending = [];
      for (const write of writes) write();
    },
    heldText() {
      return Buffer.concat(heldChunks).toString('latin1');
    },
  };
}
