/**
 * k6 script for the harness's k6 engine: posts the run's items to /store_bulk,
 * one chunk per iteration. Iteration N of the scenario (exec.scenario.iterationInTest,
 * unique across VUs) sends chunk N of SOMA_CHUNKS_FILE, so every item is sent
 * once and its id is known to the harness before the run. The outcome of each
 * chunk is reported in the soma_items_* counters, tagged with the chunk
 * number and the response's status and mode, which the harness reads from
 * k6's JSON output to reconcile item by item.
 *
 * Environment (set by the harness; run with --include-system-env-vars):
 *   SOMA_API_URL, SOMA_API_TOKEN (optional), SOMA_RUN_ID
 *   SOMA_CHUNKS_FILE   JSON array of {body, ids}: the /store_bulk body and item ids of each chunk
 *   SOMA_EXECUTOR      constant-arrival-rate or shared-iterations
 *   SOMA_VUS, SOMA_MAX_VUS, SOMA_RATE (iterations per second), SOMA_DURATION (k6 duration, e.g. 10s)
 *   SOMA_MAX_ATTEMPTS, SOMA_RETRY_BASE_MS, SOMA_RETRY_MAX_MS, SOMA_REQUEST_TIMEOUT
 *   SOMA_THRESHOLDS    JSON object of k6 thresholds by metric
 *
 * Needs k6 v1.0 or later (TypeScript scripts, http.asyncRequest).
 */
import { sleep } from 'k6';
import { SharedArray } from 'k6/data';
import exec from 'k6/execution';
import http from 'k6/http';
import { Counter } from 'k6/metrics';
import type { Options, Scenario } from 'k6/options';

interface Chunk {
  body: string;
  ids: string[];
}

interface ItemError {
  index?: number;
  id?: string;
  code?: string;
}

interface StoreResponse {
  mode?: string;
  ids?: string[];
  rejected?: ItemError[];
  errors?: ItemError[];
  code?: string;
}

function requiredEnv(name: string): string {
  const value = __ENV[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set; the harness's k6 engine sets it`);
  return value;
}

function numberEnv(name: string, fallback: number): number {
  const value = __ENV[name];
  return value === undefined || value === '' ? fallback : Number(value);
}

const API_URL = requiredEnv('SOMA_API_URL');
const TOKEN = __ENV.SOMA_API_TOKEN ?? '';
const MAX_ATTEMPTS = numberEnv('SOMA_MAX_ATTEMPTS', 5);
const RETRY_BASE_MS = numberEnv('SOMA_RETRY_BASE_MS', 100);
const RETRY_MAX_MS = numberEnv('SOMA_RETRY_MAX_MS', 2000);

const chunks = new SharedArray<Chunk>('soma chunks', () => JSON.parse(open(requiredEnv('SOMA_CHUNKS_FILE'))) as Chunk[]);

const acknowledgedItems = new Counter('soma_items_acknowledged');
const rejectedItems = new Counter('soma_items_rejected');
const failedItems = new Counter('soma_items_failed');

function scenario(): Scenario {
  const vus = numberEnv('SOMA_VUS', 1);
  if (__ENV.SOMA_EXECUTOR === 'constant-arrival-rate') {
    return {
      executor: 'constant-arrival-rate',
      rate: numberEnv('SOMA_RATE', 1),
      timeUnit: '1s',
      duration: requiredEnv('SOMA_DURATION'),
      preAllocatedVUs: vus,
      maxVUs: numberEnv('SOMA_MAX_VUS', vus),
    };
  }
  return {
    executor: 'shared-iterations',
    vus,
    iterations: chunks.length,
    maxDuration: __ENV.SOMA_DURATION || '10m',
  };
}

export const options: Options = {
  scenarios: { store_bulk: scenario() },
  thresholds: JSON.parse(__ENV.SOMA_THRESHOLDS || '{}') as Options['thresholds'],
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'p(99.9)', 'count'],
};

function isRetriable(status: number): boolean {
  return status === 0 || status === 429 || status >= 500;
}

/** Full-jitter exponential backoff, capped: the same policy as the harness's chunked engine. */
function backoffSeconds(attempt: number): number {
  const cap = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (attempt - 1));
  return (Math.random() * cap) / 1000;
}

function parseBody(text: unknown): StoreResponse {
  if (typeof text !== 'string' || text === '') return {};
  try {
    return JSON.parse(text) as StoreResponse;
  } catch {
    return {};
  }
}

/** `index:code` of every item the response rejected, e.g. "3:SOMA_ERR_ITEM_INVALID,7:...". */
function describeRejections(entries: ItemError[] | undefined, ids: string[]): string[] {
  return (entries ?? []).map((entry) => {
    const index = typeof entry.index === 'number' ? entry.index : ids.indexOf(entry.id ?? '');
    return `${index}:${entry.code ?? 'UNKNOWN'}`;
  });
}

function report(chunkIndex: number, chunk: Chunk, status: number, text: unknown): void {
  const tags: Record<string, string> = { soma_chunk: String(chunkIndex), soma_status: String(status) };
  const body = parseBody(text);
  if (status >= 200 && status < 300) {
    if (body.mode) tags.soma_mode = body.mode;
    const rejected = describeRejections(body.rejected, chunk.ids);
    if (rejected.length > 0) tags.soma_rejected = rejected.join(',');
    const returned = new Set(body.ids ?? []);
    const acknowledged = chunk.ids.filter((id) => returned.has(id)).length;
    acknowledgedItems.add(acknowledged, tags);
    if (rejected.length > 0) rejectedItems.add(rejected.length, tags);
    const missing = chunk.ids.length - acknowledged - rejected.length;
    if (missing > 0) failedItems.add(missing, { ...tags, soma_reason: `HTTP ${status}: items in neither ids nor rejected` });
    return;
  }
  const rejected = describeRejections(body.errors, chunk.ids);
  if (rejected.length > 0) {
    rejectedItems.add(rejected.length, { ...tags, soma_rejected: rejected.join(',') });
    return;
  }
  failedItems.add(chunk.ids.length, { ...tags, soma_reason: status === 0 ? 'network error' : `HTTP ${status} ${body.code ?? ''}`.trim() });
}

export default async function storeChunk(): Promise<void> {
  const chunkIndex = exec.scenario.iterationInTest;
  const chunk = chunks[chunkIndex];
  // An arrival-rate scenario may outlast the items; those iterations send nothing.
  if (chunk === undefined) return;

  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (TOKEN !== '') headers.Authorization = `Bearer ${TOKEN}`;
  const params = { headers, tags: { soma_chunk: String(chunkIndex) }, timeout: __ENV.SOMA_REQUEST_TIMEOUT || '30s' };

  for (let attempt = 1; ; attempt += 1) {
    const response = await http.asyncRequest('POST', `${API_URL}/store_bulk`, chunk.body, params);
    if (attempt < MAX_ATTEMPTS && isRetriable(response.status)) {
      sleep(backoffSeconds(attempt));
      continue;
    }
    report(chunkIndex, chunk, response.status, response.body);
    return;
  }
}
