/**
 * Measures upsert and filtered-count throughput of a Qdrant REST endpoint
 * (the qdrant-edge stand-in or a real Qdrant), the way the Soma vector indexer
 * calls it: batches of 100 points, 128-dimensional vectors, `wait=true`.
 *
 *   npx tsx harness/src/targets/local/qdrant-edge/measure-throughput.ts http://127.0.0.1:6333 [points] [concurrency]
 *
 * Bounded: it sends `points` points (default 20,000) and then counts for 3 s,
 * and deletes its collection at the end.
 */
import { randomUUID } from 'node:crypto';

const BATCH_SIZE = 100;
const VECTOR_SIZE = 128;
const COUNT_SECONDS = 3;

interface Measured {
  upsertPointsPerSecond: number;
  countsPerSecond: number;
}

async function call(baseUrl: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} failed with ${response.status}: ${text}`);
  return JSON.parse(text);
}

function makeBatch(runId: string, start: number): unknown {
  const points = [];
  for (let i = 0; i < BATCH_SIZE; i++) {
    const vector = Array.from({ length: VECTOR_SIZE }, () => Math.random() * 2 - 1);
    points.push({
      id: randomUUID(),
      vector,
      payload: { id: `item-${start + i}`, run_id: runId, namespace: 'bench', type: 'note', payload: { text: `text ${start + i}` } },
    });
  }
  return { points };
}

async function runPool(concurrency: number, tasks: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: concurrency }, async () => {
    while (next < tasks) {
      const index = next++;
      await task(index);
    }
  });
  await Promise.all(workers);
}

export async function measureThroughput(baseUrl: string, totalPoints: number, concurrency: number): Promise<Measured> {
  const collection = `throughput_${Date.now()}`;
  const runId = randomUUID();
  await call(baseUrl, 'PUT', `/collections/${collection}`, { vectors: { size: VECTOR_SIZE, distance: 'Cosine' } });
  await call(baseUrl, 'PUT', `/collections/${collection}/index?wait=true`, { field_name: 'run_id', field_schema: 'keyword' });
  try {
    const batches = Math.ceil(totalPoints / BATCH_SIZE);
    const bodies = Array.from({ length: batches }, (_, i) => makeBatch(runId, i * BATCH_SIZE));
    const upsertStarted = performance.now();
    await runPool(concurrency, batches, async (i) => {
      await call(baseUrl, 'PUT', `/collections/${collection}/points?wait=true`, bodies[i]);
    });
    const upsertSeconds = (performance.now() - upsertStarted) / 1000;

    const filter = { must: [{ key: 'run_id', match: { value: runId } }] };
    let counts = 0;
    const countDeadline = performance.now() + COUNT_SECONDS * 1000;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < countDeadline) {
          await call(baseUrl, 'POST', `/collections/${collection}/points/count`, { filter, exact: true });
          counts++;
        }
      }),
    );
    return {
      upsertPointsPerSecond: Math.round((batches * BATCH_SIZE) / upsertSeconds),
      countsPerSecond: Math.round(counts / COUNT_SECONDS),
    };
  } finally {
    await call(baseUrl, 'DELETE', `/collections/${collection}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [baseUrl, points = '20000', concurrency = '4'] = process.argv.slice(2);
  if (!baseUrl) {
    process.stderr.write('usage: measure-throughput.ts QDRANT_URL [points] [concurrency]\n');
    process.exit(2);
  }
  const result = await measureThroughput(baseUrl, Number(points), Number(concurrency));
  process.stdout.write(
    `upsert: ${result.upsertPointsPerSecond} points/s (batches of ${BATCH_SIZE}, ${VECTOR_SIZE} dims, concurrency ${concurrency})\n` +
      `count with run_id filter, exact: ${result.countsPerSecond} requests/s\n`,
  );
}
