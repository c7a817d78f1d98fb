/**
 * A small JSON HTTP client over one keep-alive agent, so a load run reuses its
 * connections instead of paying a TCP handshake per request.
 */
import http from 'node:http';
import https from 'node:https';

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON body, or undefined when the body was empty or not JSON. */
  json: unknown;
  text: string;
  latencyMs: number;
}

/** A request that got no HTTP response: refused, reset, timed out or aborted. */
export class NetworkError extends Error {
  readonly code: string;
  constructor(message: string, code: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'NetworkError';
    this.code = code;
  }
}

export interface HttpClientOptions {
  baseUrl: string;
  /** Bearer token sent on every request when set. */
  token?: string;
  /** Maximum open connections (the load's concurrency). */
  maxSockets: number;
  timeoutMs: number;
}

export interface HttpClient {
  post(path: string, body: Buffer, signal?: AbortSignal): Promise<HttpResponse>;
  get(path: string, signal?: AbortSignal): Promise<HttpResponse>;
  close(): void;
}

function parseJson(text: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Creates a client; call `close()` to end its keep-alive connections. */
export function createHttpClient(options: HttpClientOptions): HttpClient {
  const base = new URL(options.baseUrl);
  const transport = base.protocol === 'https:' ? https : http;
  const agent = new transport.Agent({ keepAlive: true, maxSockets: options.maxSockets, scheduling: 'fifo' });

  const send = (method: string, path: string, body: Buffer | undefined, signal?: AbortSignal) =>
    new Promise<HttpResponse>((resolvePromise, rejectPromise) => {
      const url = new URL(path, base);
      const headers: Record<string, string | number> = { accept: 'application/json' };
      if (body) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = body.length;
      }
      if (options.token) headers.authorization = `Bearer ${options.token}`;
      const started = performance.now();
      const request = transport.request(url, { method, agent, headers, timeout: options.timeoutMs, signal }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', (error) => rejectPromise(new NetworkError(`response from ${url.pathname} failed: ${error.message}`, 'ERESPONSE', error)));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolvePromise({
            status: response.statusCode ?? 0,
            headers: response.headers,
            json: parseJson(text),
            text,
            latencyMs: performance.now() - started,
          });
        });
      });
      request.on('timeout', () => {
        request.destroy(new NetworkError(`no response from ${url.pathname} within ${options.timeoutMs} ms`, 'ETIMEDOUT'));
      });
      request.on('error', (error: NodeJS.ErrnoException) => {
        if (error instanceof NetworkError) rejectPromise(error);
        else rejectPromise(new NetworkError(`${method} ${url.pathname} failed: ${error.message}`, error.code ?? error.name, error));
      });
      request.end(body);
    });

  return {
    post: (path, body, signal) => send('POST', path, body, signal),
    get: (path, signal) => send('GET', path, undefined, signal),
    close: () => agent.destroy(),
  };
}
