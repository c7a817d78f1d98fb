import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { QdrantClient } from '@qdrant/js-client-rest';
import { getBackends } from '../../../../test/support/backends.js';

const DIMENSIONS = 16;
const POINTS = 1000;
const BATCH = 100;

/** A deterministic pseudo-random vector for point `i` (a linear congruential generator seeded with i). */
function vectorFor(i: number): number[] {
  let seed = (i + 1) * 2654435761;
  return Array.from({ length: DIMENSIONS }, () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648 - 0.5;
  });
}

async function rawRequest(baseUrl: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

describe('qdrant via @qdrant/js-client-rest', () => {
  let client: QdrantClient;
  let qdrantUrl: string;
  const collection = `test_qdrant_${randomUUID().slice(0, 8)}`;
  const runA = `run-${randomUUID()}`;
  const runB = `run-${randomUUID()}`;
  const ids = Array.from({ length: POINTS }, () => randomUUID());

  before(async () => {
    qdrantUrl = (await getBackends()).qdrantUrl;
    client = new QdrantClient({ url: qdrantUrl, checkCompatibility: false });
  });

  after(async () => {
    await client.deleteCollection(collection).catch(() => {});
  });

  test('creates a collection and reports it', async () => {
    assert.equal(await client.createCollection(collection, { vectors: { size: DIMENSIONS, distance: 'Cosine' } }), true);
    await client.createPayloadIndex(collection, { field_name: 'run_id', field_schema: 'keyword', wait: true });
    const exists = await client.collectionExists(collection);
    assert.equal(exists.exists, true);
    const info = await client.getCollection(collection);
    assert.equal(info.status, 'green');
    const params = info.config.params.vectors as { size: number; distance: string };
    assert.equal(params.size, DIMENSIONS);
    assert.equal(params.distance, 'Cosine');
    assert.ok(info.payload_schema.run_id, 'run_id has a payload index');
  });

  test('rejects creating an existing collection with 409', async () => {
    const response = await rawRequest(qdrantUrl, 'PUT', `/collections/${collection}`, { vectors: { size: DIMENSIONS, distance: 'Cosine' } });
    assert.equal(response.status, 409);
    assert.equal(response.json.status.error, `Wrong input: Collection \`${collection}\` already exists!`);
  });

  test('upserts 1000 points with payloads and counts them by payload filter', async () => {
    for (let start = 0; start < POINTS; start += BATCH) {
      const points = ids.slice(start, start + BATCH).map((id, offset) => {
        const i = start + offset;
        return { id, vector: vectorFor(i), payload: { id: `item-${i}`, run_id: i % 4 === 0 ? runB : runA, n: i } };
      });
      const result = await client.upsert(collection, { wait: true, points });
      assert.equal(result.status, 'completed');
    }
    const filter = (run: string) => ({ must: [{ key: 'run_id', match: { value: run } }] });
    assert.equal((await client.count(collection, { exact: true })).count, POINTS);
    assert.equal((await client.count(collection, { filter: filter(runA), exact: true })).count, 750);
    assert.equal((await client.count(collection, { filter: filter(runB), exact: true })).count, 250);
  });

  test('finds the nearest point to a known vector', async () => {
    const target = 123;
    const hits = await client.search(collection, { vector: vectorFor(target), limit: 3, with_payload: true });
    assert.equal(hits[0]?.id, ids[target]);
    assert.equal((hits[0]?.payload as { id: string }).id, `item-${target}`);
    assert.ok((hits[0]?.score ?? 0) > 0.999, `cosine score of an identical vector is 1, got ${hits[0]?.score}`);

    const queried = await client.query(collection, { query: vectorFor(target), limit: 1, with_payload: false });
    assert.equal(queried.points[0]?.id, ids[target]);
  });

  test('scrolls a filtered run page by page', async () => {
    const seen = new Set<string | number>();
    let offset: string | number | undefined | null;
    do {
      const page = await client.scroll(collection, {
        filter: { must: [{ key: 'run_id', match: { value: runB } }] }, limit: 100, offset: offset ?? undefined, with_payload: true,
      });
      for (const point of page.points) seen.add(point.id);
      offset = page.next_page_offset as string | number | null | undefined;
    } while (offset !== null && offset !== undefined);
    assert.equal(seen.size, 250);
  });

  test('rejects a point id that is neither an unsigned integer nor a UUID', async () => {
    await assert.rejects(
      client.upsert(collection, { wait: true, points: [{ id: 'not-a-uuid' as unknown as string, vector: vectorFor(0) }] }),
      (error: { status?: number; data?: { status?: { error?: string } } }) => {
        assert.equal(error.status, 400);
        assert.match(error.data?.status?.error ?? '', /value not-a-uuid is not a valid point ID, valid values are either an unsigned integer or a UUID/);
        return true;
      },
    );
    const negative = await rawRequest(qdrantUrl, 'PUT', `/collections/${collection}/points?wait=true`, { points: [{ id: -1, vector: vectorFor(0) }] });
    assert.equal(negative.status, 400);
    assert.match(negative.json.status.error, /value -1 is not a valid point ID/);
  });

  test('answers 404 for a missing collection', async () => {
    const response = await rawRequest(qdrantUrl, 'POST', '/collections/does_not_exist_here/points/count', { exact: true });
    assert.equal(response.status, 404);
    assert.equal(response.json.status.error, 'Not found: Collection `does_not_exist_here` doesn\'t exist!');
  });

  test('rejects a vector of the wrong dimension with 400', async () => {
    const response = await rawRequest(qdrantUrl, 'PUT', `/collections/${collection}/points?wait=true`, { points: [{ id: 1, vector: [0.1, 0.2] }] });
    assert.equal(response.status, 400);
    assert.equal(response.json.status.error, `Wrong input: Vector dimension error: expected dim: ${DIMENSIONS}, got 2`);
  });

  test('rejects a filter on a nested key with 400 naming the limitation', async () => {
    const response = await rawRequest(qdrantUrl, 'POST', `/collections/${collection}/points/search`, {
      vector: vectorFor(0), limit: 1, filter: { must: [{ key: 'payload.text', match: { value: 'x' } }] },
    });
    assert.equal(response.status, 400);
    assert.match(response.json.status.error, /^Wrong input: the Qdrant Edge stand-in cannot filter on nested key payload\.text, because/);
  });

  test('rejects match values that Qdrant rejects with 400, not 500', async () => {
    const cases: [string, unknown][] = [
      ['a fraction', { value: 0.5 }],
      ['an integer above i64', { value: 2 ** 70 }],
      ['null', { value: null }],
      ['an object', { value: { a: 1 } }],
      ['a mixed any list', { any: ['a', 1] }],
      ['a list of booleans in except', { except: [true] }],
    ];
    for (const [name, match] of cases) {
      const response = await rawRequest(qdrantUrl, 'POST', `/collections/${collection}/points/search`, {
        vector: vectorFor(0), limit: 1, filter: { must: [{ key: 'n', match }] },
      });
      assert.equal(response.status, 400, `${name}: ${JSON.stringify(response.json)}`);
      assert.match(response.json.status.error, /^Format error in JSON body: match /, name);
    }
  });

  test('matches integer and keyword values', async () => {
    const byValue = async (key: string, value: string | number) =>
      (await client.count(collection, { exact: true, filter: { must: [{ key, match: { value } }] } })).count;
    assert.equal(await byValue('n', 7), 1);
    // 2^62 is exact as a double and within i64.
    assert.equal(await byValue('n', 2 ** 62), 0);
    assert.equal(await byValue('run_id', runB), 250);
  });

  test('deletes points by filter', async () => {
    await client.delete(collection, { wait: true, filter: { must: [{ key: 'run_id', match: { value: runB } }] } });
    assert.equal((await client.count(collection, { exact: true })).count, 750);
  });
});
