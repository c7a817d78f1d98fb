/**
 * A /store_bulk test server on 127.0.0.1 for the engine tests. It
 * acknowledges every item of every request and stores nothing. Once,
 * `stallAfterMs` after the first request, it delays every request that
 * arrives until `stallMs` have passed (a server stall).
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StallServer {
  url: string;
  /** Requests the stall held. */
  stalledRequests(): number;
  close(): Promise<void>;
}

function acknowledge(response: ServerResponse, text: string): void {
  const items = (JSON.parse(text) as { items: { id: string }[] }).items;
  response.writeHead(202, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ mode: 'evented', accepted: items.length, ids: items.map((item) => item.id), rejected: [] }));
}

/** Starts the server on a free port of 127.0.0.1. */
export async function startStallServer(stallAfterMs: number, stallMs: number): Promise<StallServer> {
  let firstRequestAt: number | undefined;
  let stallUntil: number | undefined;
  let stalled = 0;

  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const now = Date.now();
      firstRequestAt ??= now;
      if (stallUntil === undefined && now - firstRequestAt >= stallAfterMs) stallUntil = now + stallMs;
      const text = Buffer.concat(chunks).toString('utf8');
      const waitMs = stallUntil === undefined ? 0 : stallUntil - now;
      if (waitMs <= 0) {
        acknowledge(response, text);
        return;
      }
      stalled += 1;
      setTimeout(() => acknowledge(response, text), waitMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stalledRequests: () => stalled,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
