import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { QdrantClient } from '@qdrant/js-client-rest';
import { getBackends } from '../../../../test/support/backends.js';
import { findFreePort } from '../../process/ports.js';
import { resolveCacheDir } from './index.js';
import { QDRANT_EDGE_VERSION } from './qdrant.js';

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

/** Builds a collection name of `length` characters, unique to this test run. */
function longName(length: number): string {
  const unique = `long_${randomUUID().slice(0, 8)}_`;
  return unique + 'n'.repeat(length - unique.length);
}

describe('qdrant collection names up to 255 characters', () => {
  let client: QdrantClient;
  let qdrantUrl: string;
  const collection = longName(255);

  before(async () => {
    qdrantUrl = (await getBackends()).qdrantUrl;
    client = new QdrantClient({ url: qdrantUrl, checkCompatibility: false });
  });

  after(async () => {
    await client.deleteCollection(collection).catch(() => {});
  });

  test('creates, fills, lists and deletes a 255-character collection', async () => {
    assert.equal(collection.length, 255);
    assert.equal(await client.createCollection(collection, { vectors: { size: DIMENSIONS, distance: 'Cosine' } }), true);
    await client.createPayloadIndex(collection, { field_name: 'run_id', field_schema: 'keyword', wait: true });
    const result = await client.upsert(collection, {
      wait: true,
      points: [0, 1, 2].map((i) => ({ id: i + 1, vector: vectorFor(i), payload: { run_id: 'long-name-run', n: i } })),
    });
    assert.equal(result.status, 'completed');
    const counted = await client.count(collection, { exact: true, filter: { must: [{ key: 'run_id', match: { value: 'long-name-run' } }] } });
    assert.equal(counted.count, 3);

    const listed = await client.getCollections();
    assert.ok(listed.collections.some((entry) => entry.name === collection), 'the list shows the original 255-character name');

    assert.equal(await client.deleteCollection(collection), true);
    assert.equal((await client.collectionExists(collection)).exists, false);
  });
});

/** Python of the virtualenv that the local target builds for the stand-in, if the stand-in is in use. */
function standInPython(): string | undefined {
  const python = join(resolveCacheDir(process.env), `qdrant-edge-py-${QDRANT_EDGE_VERSION}`, 'venv', 'bin', 'python');
  return existsSync(python) ? python : undefined;
}

const SERVER_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'qdrant-edge', 'server.py');

/** Runs a stand-in of this test's own on `storage`, so that the test can stop and restart it. */
class OwnStandIn {
  private child: ChildProcess | undefined;
  private output = '';
  url = '';

  constructor(
    private readonly python: string,
    readonly storage: string,
  ) {}

  async start(): Promise<void> {
    const port = await findFreePort();
    this.url = `http://127.0.0.1:${port}`;
    const child = spawn(this.python, [SERVER_SCRIPT, '--host', '127.0.0.1', '--port', String(port), '--storage', this.storage], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '', PYTHONUNBUFFERED: '1' },
    });
    this.child = child;
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`the stand-in exited with ${child.exitCode}: ${this.output}`);
      const response = await fetch(`${this.url}/readyz`).catch(() => undefined);
      if (response?.ok) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`the stand-in on ${this.url} did not answer /readyz within 30 s: ${this.output}`);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
}

describe('qdrant stand-in storage directories', () => {
  let standIn: OwnStandIn | undefined;
  let storage: string | undefined;

  before(async () => {
    // getBackends builds the virtualenv on first use. Without it the backends use a real Qdrant, and the tests skip.
    await getBackends();
    const python = standInPython();
    if (python === undefined) return;
    storage = mkdtempSync(join(tmpdir(), 'soma-qdrant-stand-in-'));
    standIn = new OwnStandIn(python, storage);
    await standIn.start();
  });

  after(async () => {
    await standIn?.stop();
    if (storage !== undefined) rmSync(storage, { recursive: true, force: true });
  });

  test('keeps short and 255-character collections across a restart', async (t) => {
    if (standIn === undefined || storage === undefined) return t.skip('the backends use a real Qdrant, not the stand-in');
    const long = longName(255);
    const short = longName(127);
    for (const name of [long, short]) {
      const created = await rawRequest(standIn.url, 'PUT', `/collections/${name}`, { vectors: { size: DIMENSIONS, distance: 'Cosine' } });
      assert.equal(created.status, 200, JSON.stringify(created.json));
      const upserted = await rawRequest(standIn.url, 'PUT', `/collections/${name}/points?wait=true`, {
        points: [{ id: 7, vector: vectorFor(7), payload: { n: 7 } }],
      });
      assert.equal(upserted.status, 200, JSON.stringify(upserted.json));
    }

    // A name whose hex form fits in 255 bytes keeps the hex directory; a longer one gets the digest form.
    const directories = readdirSync(join(storage, 'collections')).sort();
    const shortHex = Buffer.from(short).toString('hex');
    const longDigest = `sha256-${createHash('sha256').update(long).digest('hex')}`;
    assert.equal(shortHex.length, 254);
    assert.deepEqual(directories, [shortHex, longDigest].sort());

    await standIn.stop();
    await standIn.start();

    const listed = await rawRequest(standIn.url, 'GET', '/collections');
    const names = (listed.json.result.collections as { name: string }[]).map((entry) => entry.name).sort();
    assert.deepEqual(names, [long, short].sort());
    for (const name of [long, short]) {
      const counted = await rawRequest(standIn.url, 'POST', `/collections/${name}/points/count`, { exact: true });
      assert.equal(counted.json.result?.count, 1, `${name.length}-character collection after restart: ${JSON.stringify(counted.json)}`);
    }

    for (const name of [long, short]) {
      const deleted = await rawRequest(standIn.url, 'DELETE', `/collections/${name}`);
      assert.equal(deleted.json.result, true);
    }
    assert.deepEqual(readdirSync(join(storage, 'collections')), []);
  });

  test('answers 500 naming the collection when its directory cannot be created', async (t) => {
    if (standIn === undefined || storage === undefined) return t.skip('the backends use a real Qdrant, not the stand-in');
    const name = `blocked_${randomUUID().slice(0, 8)}`;
    // A regular file where the collection's directory belongs makes the directory creation fail.
    const collections = join(storage, 'collections');
    mkdirSync(collections, { recursive: true });
    const blocker = join(collections, Buffer.from(name).toString('hex'));
    writeFileSync(blocker, 'not a directory');
    try {
      const created = await rawRequest(standIn.url, 'PUT', `/collections/${name}`, { vectors: { size: DIMENSIONS, distance: 'Cosine' } });
      assert.equal(created.status, 500);
      const message = created.json.status.error as string;
      assert.match(message, new RegExp(`^Service internal error: cannot store collection \`${name}\` in directory `));
      assert.match(message, /FileExistsError/);

      const listed = await rawRequest(standIn.url, 'GET', '/collections');
      assert.ok(!(listed.json.result.collections as { name: string }[]).some((entry) => entry.name === name), 'a failed create lists no collection');
    } finally {
      rmSync(blocker, { force: true });
    }
  });
});
