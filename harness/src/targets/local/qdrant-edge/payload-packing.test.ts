/**
 * The Qdrant stand-in keeps nested payload objects as one JSON text in the
 * engine (to halve the binding's conversion time per point). Reads must still
 * return the payload as written, top-level keys must stay filterable, and
 * filters or indexes on keys inside nested objects must fail with 400.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { getBackends } from '../../../../../test/support/backends.js';

const DIMENSIONS = 8;

interface Reply {
  status: number;
  json: any;
}

async function call(baseUrl: string, method: string, path: string, body?: unknown): Promise<Reply> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

function vector(seed: number): number[] {
  return Array.from({ length: DIMENSIONS }, (_, index) => ((seed * 31 + index * 7) % 13) / 13 + 0.01);
}

describe('qdrant stand-in payload packing', () => {
  let qdrantUrl: string;
  const collection = `test_packing_${randomUUID().slice(0, 8)}`;
  const ids = [randomUUID(), randomUUID()];
  const payloads = [
    { id: 'item-0', run_id: 'run-a', tags: ['x', 'y'], payload: { text: 'hello world', seq: 0, nested: { deep: [1, 2] } }, list: [{ a: 1 }] },
    { id: 'item-1', run_id: 'run-b', tags: ['y'], payload: { text: 'other', seq: 1 } },
  ];

  before(async () => {
    qdrantUrl = (await getBackends()).qdrantUrl;
    const created = await call(qdrantUrl, 'PUT', `/collections/${collection}`, { vectors: { size: DIMENSIONS, distance: 'Cosine' } });
    assert.equal(created.status, 200, JSON.stringify(created.json));
    const points = ids.map((id, index) => ({ id, vector: vector(index + 1), payload: payloads[index] }));
    const upserted = await call(qdrantUrl, 'PUT', `/collections/${collection}/points?wait=true`, { points });
    assert.equal(upserted.status, 200, JSON.stringify(upserted.json));
  });

  after(async () => {
    await call(qdrantUrl, 'DELETE', `/collections/${collection}`).catch(() => undefined);
  });

  test('retrieve returns nested payload as written', async () => {
    const reply = await call(qdrantUrl, 'POST', `/collections/${collection}/points`, { ids, with_payload: true });
    assert.equal(reply.status, 200);
    const byId = new Map(reply.json.result.map((point: { id: string; payload: unknown }) => [point.id, point.payload]));
    assert.deepEqual(byId.get(ids[0]), payloads[0]);
    assert.deepEqual(byId.get(ids[1]), payloads[1]);
  });

  test('include and exclude selectors see nested keys', async () => {
    const included = await call(qdrantUrl, 'POST', `/collections/${collection}/points`, { ids: [ids[0]], with_payload: ['id', 'payload'] });
    assert.deepEqual(included.json.result[0].payload, { id: 'item-0', payload: payloads[0]?.payload });

    const excluded = await call(qdrantUrl, 'POST', `/collections/${collection}/points/scroll`, {
      filter: { must: [{ key: 'run_id', match: { value: 'run-b' } }] },
      with_payload: { exclude: ['payload', 'tags'] },
    });
    assert.deepEqual(excluded.json.result.points[0].payload, { id: 'item-1', run_id: 'run-b' });
  });

  test('search returns the unpacked payload', async () => {
    const reply = await call(qdrantUrl, 'POST', `/collections/${collection}/points/search`, { vector: vector(1), limit: 1, with_payload: true });
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.json.result[0].payload, payloads[0]);
  });

  test('top-level keys and arrays stay filterable', async () => {
    const byRun = await call(qdrantUrl, 'POST', `/collections/${collection}/points/count`, { exact: true, filter: { must: [{ key: 'run_id', match: { value: 'run-a' } }] } });
    assert.equal(byRun.json.result.count, 1);
    const byTag = await call(qdrantUrl, 'POST', `/collections/${collection}/points/count`, { exact: true, filter: { must: [{ key: 'tags', match: { value: 'y' } }] } });
    assert.equal(byTag.json.result.count, 2);
  });

  test('nested filter key is rejected with 400', async () => {
    const reply = await call(qdrantUrl, 'POST', `/collections/${collection}/points/count`, { exact: true, filter: { must: [{ key: 'payload.seq', match: { value: 1 } }] } });
    assert.equal(reply.status, 400);
    assert.match(reply.json.status.error, /^Wrong input: the Qdrant Edge stand-in cannot filter on nested key payload\.seq, because it stores nested payload objects as JSON text/);
  });

  test('nested payload index is rejected with 400', async () => {
    const reply = await call(qdrantUrl, 'PUT', `/collections/${collection}/index?wait=true`, { field_name: 'payload.text', field_schema: 'keyword' });
    assert.equal(reply.status, 400);
    assert.match(reply.json.status.error, /^Wrong input: the Qdrant Edge stand-in cannot index nested key payload\.text, because/);
  });

  test('reserved packing key in a payload is rejected', async () => {
    const point = { id: randomUUID(), vector: vector(3), payload: { __soma_stand_in_nested_json__: 'x' } };
    const reply = await call(qdrantUrl, 'PUT', `/collections/${collection}/points?wait=true`, { points: [point] });
    assert.equal(reply.status, 400);
    assert.match(reply.json.status.error, /payload key `__soma_stand_in_nested_json__` is reserved by the qdrant-edge stand-in/);
  });
});
