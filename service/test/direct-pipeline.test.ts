/**
 * Direct mode (SOMA_EVENTING_ENABLED=false) under the flagship load: 1000
 * items of both shapes posted to /store_bulk in 10 chunks of 100, against
 * real Postgres and Qdrant. A 201 means both stores committed, so the counts
 * are checked right after the last response, without waiting.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startDirectApp, type DirectApp } from './support/apps.js';
import { countPoints, countRows, listPointIds, postJson, queryRows, testBackends, uniqueName } from './support/backends.js';

const ITEMS = 1000;
const CHUNK = 100;

let direct: DirectApp;
let backends: Awaited<ReturnType<typeof testBackends>>;

before(async () => {
  backends = await testBackends();
  direct = await startDirectApp(backends);
});

after(async () => {
  await direct.close();
});

/** Builds flat items at even indexes and coordinate items at odd ones, all with the run id. */
function itemsFor(runId: string): Record<string, unknown>[] {
  return Array.from({ length: ITEMS }, (_, index) =>
    index % 2 === 0
      ? { id: `${runId}-${index}`, text: `direct memory ${index}`, run_id: runId }
      : { id: `${runId}-${index}`, coord: [index, index / 4, -1], payload: { run_id: runId, n: index }, type: 'semantic' },
  );
}

async function postInChunks(items: Record<string, unknown>[]): Promise<{ status: number; accepted: number; ids: string[] }[]> {
  const responses = [];
  for (let start = 0; start < items.length; start += CHUNK) {
    const response = await postJson(`${direct.url}/store_bulk`, { items: items.slice(start, start + CHUNK) });
    assert.deepEqual(response.body.rejected ?? [], [], `chunk at ${start}: ${JSON.stringify(response.body).slice(0, 500)}`);
    responses.push({ status: response.status, accepted: response.body.accepted as number, ids: response.body.ids as string[] });
  }
  return responses;
}

test('direct mode stores 1000 items of both shapes exactly once', async () => {
  const runId = uniqueName('run');
  const items = itemsFor(runId);
  const expectedIds = items.map((item) => item.id as string);

  const responses = await postInChunks(items);
  assert.deepEqual(responses.map((response) => response.status), Array(ITEMS / CHUNK).fill(201));
  assert.deepEqual(responses.map((response) => response.accepted), Array(ITEMS / CHUNK).fill(CHUNK));
  assert.deepEqual(responses.flatMap((response) => response.ids), expectedIds);

  assert.equal(await countRows(backends.postgresUrl, runId), ITEMS);
  assert.equal(await countPoints(backends.qdrantUrl, direct.namespace, runId), ITEMS);

  const rows = await queryRows<{ id: string }>(backends.postgresUrl, 'SELECT id FROM public.kv_store WHERE run_id = $1', [runId]);
  assert.deepEqual(rows.map((row) => row.id).sort(), [...expectedIds].sort());
  assert.deepEqual((await listPointIds(backends.qdrantUrl, direct.namespace, runId)).sort(), [...expectedIds].sort());

  const [flat, coordinate] = await Promise.all(
    [`${runId}-0`, `${runId}-1`].map(async (id) => (await queryRows<{ value: any }>(backends.postgresUrl, 'SELECT value FROM public.kv_store WHERE id = $1', [id]))[0]?.value),
  );
  assert.deepEqual(flat?.payload, { text: 'direct memory 0', run_id: runId });
  assert.deepEqual(coordinate?.payload, { run_id: runId, n: 1, coord: [1, 0.25, -1] });
  assert.equal(coordinate?.type, 'semantic');
});

test('direct mode re-posting the same 1000 ids keeps 1000 rows and points', async () => {
  const runId = uniqueName('run');
  const items = itemsFor(runId);
  assert.deepEqual((await postInChunks(items)).map((response) => response.status), Array(ITEMS / CHUNK).fill(201));
  assert.deepEqual((await postInChunks(items)).map((response) => response.status), Array(ITEMS / CHUNK).fill(201));

  assert.equal(await countRows(backends.postgresUrl, runId), ITEMS);
  assert.equal(await countPoints(backends.qdrantUrl, direct.namespace, runId), ITEMS);
});
