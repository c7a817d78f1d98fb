/**
 * Shim of k6/http for the k6 stand-in: http.asyncRequest over Node's fetch,
 * with k6's request metrics (http_reqs, http_req_duration, http_req_failed)
 * and system tags (method, url, name, status, expected_response). The
 * blocking request functions are not implemented: scripts for the stand-in
 * use asyncRequest.
 */
import { runtime, type Tags } from '../runtime.js';

interface Params {
  headers?: Record<string, string>;
  tags?: Tags;
  timeout?: string | number;
}

export interface StandInResponse {
  status: number;
  body: string | null;
  headers: Record<string, string>;
  error: string;
  error_code: number;
  timings: { duration: number };
  url: string;
  json(): unknown;
}

const DEFAULT_TIMEOUT_MS = 60_000;
/** k6's error code of a request that got no response. */
const NETWORK_ERROR_CODE = 1000;

function timeoutMs(timeout: string | number | undefined): number {
  if (timeout === undefined) return DEFAULT_TIMEOUT_MS;
  if (typeof timeout === 'number') return timeout;
  const match = /^([0-9.]+)(ms|s|m)$/.exec(timeout);
  if (!match) throw new TypeError(`the k6 stand-in cannot read timeout ${JSON.stringify(timeout)}; use e.g. 30s or 500ms`);
  const factor = { ms: 1, s: 1000, m: 60_000 }[match[2] as 'ms' | 's' | 'm'];
  return Number(match[1]) * factor;
}

function recordRequest(method: string, url: string, status: number, durationMs: number, tags: Tags): void {
  const expected = status >= 200 && status < 400;
  const all: Tags = { method, url, name: url, status: String(status), expected_response: String(expected), proto: 'HTTP/1.1', ...tags };
  runtime.emit('http_reqs', 'counter', 1, all);
  runtime.emit('http_req_duration', 'trend', durationMs, all, 'time');
  runtime.emit('http_req_failed', 'rate', expected ? 0 : 1, all);
}

export async function asyncRequest(method: string, url: string, body?: string | null, params: Params = {}): Promise<StandInResponse> {
  const started = performance.now();
  let status = 0;
  let text: string | null = null;
  let error = '';
  const headers: Record<string, string> = {};
  try {
    const response = await fetch(url, {
      method,
      body: body ?? undefined,
      headers: params.headers,
      signal: AbortSignal.timeout(timeoutMs(params.timeout)),
    });
    text = await response.text();
    status = response.status;
    response.headers.forEach((value, key) => {
      headers[key] = value;
    });
  } catch (caught) {
    error = caught instanceof Error ? caught.message : String(caught);
  }
  const durationMs = performance.now() - started;
  recordRequest(method, url, status, durationMs, params.tags ?? {});
  return {
    status,
    body: text,
    headers,
    error,
    error_code: status === 0 ? NETWORK_ERROR_CODE : 0,
    timings: { duration: durationMs },
    url,
    json: () => JSON.parse(text ?? ''),
  };
}

function blocking(name: string): never {
  throw new Error(`the k6 stand-in does not implement the blocking http.${name}; use http.asyncRequest`);
}

export const request = () => blocking('request');
export const get = () => blocking('get');
export const post = () => blocking('post');
export const put = () => blocking('put');
export const del = () => blocking('del');
export const batch = () => blocking('batch');

export default { asyncRequest, request, get, post, put, del, batch };
