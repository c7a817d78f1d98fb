/**
 * Test support for the service: real backends, unique names, service
 * processes and polling helpers. The backends come from getBackends(): the
 * ones test/run.ts started (SOMA_TEST_BACKENDS), or started for this file.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { getBackends, type BackendEndpoints } from '../../../test/support/backends.js';
import { fetchGroupLag } from '../../src/consumers/lag-monitor.js';

export function testBackends(): Promise<BackendEndpoints> {
  return getBackends();
}

/** Returns a name unique to this test run, valid as topic, group, namespace and run id. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs` with `what`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}

export async function countRows(postgresUrl: string, runId: string): Promise<number> {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    const result = await client.query<{ count: string }>('SELECT count(*) FROM public.kv_store WHERE run_id = $1', [runId]);
    return Number(result.rows[0]?.count ?? 0);
  } catch (error) {
    if ((error as { code?: string }).code === '42P01') return 0; // kv_store not created yet
    throw error;
  } finally {
    await client.end();
  }
}

export async function queryRows<T extends pg.QueryResultRow>(postgresUrl: string, text: string, values: unknown[]): Promise<T[]> {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

export async function countPoints(qdrantUrl: string, collection: string, runId: string): Promise<number> {
  const response = await fetch(`${qdrantUrl}/collections/${collection}/points/count`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ exact: true, filter: { must: [{ key: 'run_id', match: { value: runId } }] } }),
  });
  if (response.status === 404) return 0;
  const body = (await response.json()) as { result?: { count?: number } };
  return body.result?.count ?? 0;
}

export function testKafka(brokers: string[]): Kafka {
  return new Kafka({ clientId: 'soma-service-test', brokers, logLevel: logLevel.NOTHING });
}

/** Total lag of `group` on `topic` over all partitions. */
export async function totalLag(brokers: string[], group: string, topic: string): Promise<number> {
  const admin = testKafka(brokers).admin();
  await admin.connect();
  try {
    const lags = await fetchGroupLag(admin, group, topic);
    return lags.reduce((sum, entry) => sum + entry.lag, 0);
  } finally {
    await admin.disconnect();
  }
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON; keep the text
  }
  return { status: response.status, body: parsed };
}

/** Lists the `id` payload field of every point of `runId` in `collection`, paging with scroll. */
export async function listPointIds(qdrantUrl: string, collection: string, runId: string): Promise<string[]> {
  const ids: string[] = [];
  let offset: unknown = null;
  do {
    const response = await fetch(`${qdrantUrl}/collections/${collection}/points/scroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        limit: 500,
        offset,
        with_payload: ['id'],
        with_vector: false,
        filter: { must: [{ key: 'run_id', match: { value: runId } }] },
      }),
    });
    if (response.status === 404) return [];
    if (!response.ok) throw new Error(`Qdrant scroll of ${collection} failed with ${response.status}: ${await response.text()}`);
    const body = (await response.json()) as { result: { points: { payload: { id: string } }[]; next_page_offset?: unknown } };
    ids.push(...body.result.points.map((point) => point.payload.id));
    offset = body.result.next_page_offset ?? null;
  } while (offset !== null);
  return ids;
}

/** Counts the messages in `topic` (high minus low watermark, summed over partitions). A missing topic counts 0. */
export async function topicMessageCount(brokers: string[], topic: string): Promise<number> {
  const admin = testKafka(brokers).admin();
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: [] });
    if (!topics.some((entry) => entry.name === topic)) return 0;
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, entry) => sum + Number(BigInt(entry.high) - BigInt(entry.low)), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Reads the first `count` messages of `topic` as parsed JSON values, with a consumer group of its own. */
export async function readJsonMessages<T>(brokers: string[], topic: string, count: number, timeoutMs = 30_000): Promise<T[]> {
  const consumer = testKafka(brokers).consumer({ groupId: uniqueName('reader') });
  const values: T[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void values.push(JSON.parse(message.value?.toString('utf8') ?? 'null') as T) });
    await waitFor(`${count} messages on ${topic}`, async () => (values.length >= count ? true : undefined), timeoutMs);
  } finally {
    await consumer.disconnect();
  }
  return values;
}

/** Polls until the lag of every group on `topic` is 0. */
export async function waitForZeroLag(brokers: string[], groups: readonly string[], topic: string, timeoutMs = 60_000): Promise<void> {
  for (const group of groups) {
    await waitFor(`lag of ${group} on ${topic} to reach 0`, async () => ((await totalLag(brokers, group, topic)) === 0 ? true : undefined), timeoutMs);
  }
}

/** Body of a /readyz response. */
export interface ReadyBody {
  status: string;
  checks: Record<string, { ok: boolean; detail: string }>;
}

/** Fetches /readyz of a service and returns its status code and parsed body. */
export async function readyz(url: string): Promise<{ status: number; body: ReadyBody }> {
  const response = await fetch(`${url}/readyz`);
  return { status: response.status, body: (await response.json()) as ReadyBody };
}

/** Returns the service variables that point it at the test backends. */
export function backendEnv(backends: BackendEndpoints): Record<string, string> {
  return {
    SOMA_KAFKA_BROKERS: backends.kafkaBrokers.join(','),
    SOMA_POSTGRES_URL: backends.postgresUrl,
    SOMA_QDRANT_URL: backends.qdrantUrl,
  };
}
