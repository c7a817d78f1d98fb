/**
 * An HTTP proxy on a free loopback port that forwards every request to
 * `target`. While `failing` is set, it responds to the requests that
 * `matches` selects with 500 and a Qdrant error envelope, as a Qdrant that
 * cannot write would. Tests use it to make one kind of store request fail
 * while the rest of the store keeps working.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';

export interface HttpFaultProxy {
  /** Base URL of the proxy, such as http://127.0.0.1:41234. */
  url: string;
  /** Whether matching requests get 500 instead of being forwarded. */
  failing: boolean;
  /** Number of requests that got 500 so far. */
  readonly failed: number;
  close(): Promise<void>;
}

/** Error text of the 500 responses, so that tests can find it in readiness details and logs. */
export const INJECTED_ERROR = 'Service internal error: injected by the test proxy';

export async function startHttpFaultProxy(target: string, matches: (method: string, path: string) => boolean): Promise<HttpFaultProxy> {
  const upstream = new URL(target);
  let failed = 0;
  const state = { failing: true };

  const server: Server = createServer((incoming: IncomingMessage, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const path = incoming.url ?? '/';
      if (state.failing && matches(incoming.method ?? 'GET', path)) {
        failed += 1;
        const body = JSON.stringify({ status: { error: INJECTED_ERROR }, time: 0 });
        outgoing.writeHead(500, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        outgoing.end(body);
        return;
      }
      const forwarded = httpRequest(
        { host: upstream.hostname, port: upstream.port, method: incoming.method, path, headers: { ...incoming.headers, host: upstream.host } },
        (response) => {
          outgoing.writeHead(response.statusCode ?? 502, response.headers);
          response.pipe(outgoing);
        },
      );
      forwarded.on('error', (error) => {
        outgoing.writeHead(502, { 'content-type': 'text/plain' });
        outgoing.end(`the test proxy could not reach ${target}: ${error.message}`);
      });
      forwarded.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the test proxy has no TCP address');

  return {
    url: `http://127.0.0.1:${address.port}`,
    get failing() {
      return state.failing;
    },
    set failing(value: boolean) {
      state.failing = value;
    },
    get failed() {
      return failed;
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
