/**
 * Bad and edge-case input over HTTP, against a direct-mode app on real
 * Postgres and Qdrant. Every case gets a 4xx with a message that names the
 * field or limit, never a 5xx. Valid neighbours of a bad item are stored.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { countPoints, countRows, postJson, queryRows, testBackends, uniqueName } from './support/backends.js';
import { startDirectApp, type DirectApp } from './support/apps.js';

const MAX_BODY_BYTES = 64 * 1024;
const TOKEN = 'test-token-7f3a9c';

let direct: DirectApp;
let postgresUrl: string;
let qdrantUrl: string;

before(async () => {
  const backends = await testBackends();
  postgresUrl = backends.postgresUrl;
  qdrantUrl = backends.qdrantUrl;
  direct = await startDirectApp(backends, {
    SOMA_MAX_BODY_BYTES: String(MAX_BODY_BYTES),
    SOMA_MAX_BULK_ITEMS: '100',
    SOMA_MAX_TEXT_LENGTH: '1000',
    SOMA_API_TOKEN: TOKEN,
  });
});

after(async () => {
  await direct.close();
});

const AUTH = { authorization: `Bearer ${TOKEN}` };

function bulk(body: unknown): Promise<{ status: number; body: any }> {
  return postJson(`${direct.url}/store_bulk`, body, AUTH);
}

/** Sends a raw body over one connection and returns the status and body text, or the socket error. */
function rawPost(path: string, body: Buffer, headers: Record<string, string | number>): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(direct.url);
    const req = httpRequest(
      { host: url.hostname, port: url.port, path, method: 'POST', headers: { 'content-type': 'application/json', ...AUTH, ...headers } },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    // Write in 16 KiB pieces, as a client streaming a large body would.
    for (let offset = 0; offset < body.length; offset += 16 * 1024) req.write(body.subarray(offset, offset + 16 * 1024));
    req.end();
  });
}

describe('malformed bodies', () => {
  const cases: [string, string, string, RegExp][] = [
    ['malformed JSON', '{"items": [', 'SOMA_ERR_BODY_INVALID_JSON', /not valid JSON/],
    ['empty body', '', 'SOMA_ERR_BODY_EMPTY', /body is empty/],
    ['whitespace body', '  \n ', 'SOMA_ERR_BODY_EMPTY', /body is empty/],
    ['null', 'null', 'SOMA_ERR_BODY_INVALID', /got null/],
    ['an array', '[1,2]', 'SOMA_ERR_BODY_INVALID', /got an array/],
    ['items not an array', '{"items": {"text": "a"}}', 'SOMA_ERR_BODY_INVALID', /items must be an array/],
    ['empty items', '{"items": []}', 'SOMA_ERR_BULK_EMPTY', /items is an empty array/],
    ['unknown top-level field', '{"items": [{"text": "a"}], "extra": 1}', 'SOMA_ERR_BODY_INVALID', /unknown field extra/],
  ];
  for (const [name, body, code, message] of cases) {
    test(`${name} -> 400 ${code}`, async () => {
      const response = await bulk(body);
      assert.equal(response.status, 400);
      assert.equal(response.body.code, code);
      assert.equal(response.body.statusCode, 400);
      assert.equal(response.body.error, 'Bad Request');
      assert.match(response.body.message, message);
    });
  }

  test('JSON nested 10,000 levels -> 400 and the process stays up', async () => {
    const deep = `{"items":[{"text":"a","payload":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}]}`;
    const response = await bulk(deep);
    assert.equal(response.status, 400);
    assert.equal(response.body.code, 'SOMA_ERR_BULK_ALL_REJECTED');
    assert.equal(response.body.errors[0].code, 'SOMA_ERR_ITEM_TOO_DEEP');
    const arrays = await bulk(`${'['.repeat(10_000)}${']'.repeat(10_000)}`);
    assert.equal(arrays.status, 400);
    const health = await fetch(`${direct.url}/healthz`);
    assert.equal(health.status, 200);
  });

  test('unsupported content type -> 415', async () => {
    const response = await fetch(`${direct.url}/store_bulk`, { method: 'POST', headers: { ...AUTH, 'content-type': 'text/plain' }, body: 'x' });
    assert.equal(response.status, 415);
    assert.equal(((await response.json()) as { code: string }).code, 'SOMA_ERR_BODY_UNSUPPORTED_MEDIA_TYPE');
  });
});

describe('limits', () => {
  test('more items than SOMA_MAX_BULK_ITEMS -> 413 naming the limit', async () => {
    const items = Array.from({ length: 101 }, (_, index) => ({ text: `t${index}` }));
    const response = await bulk({ items });
    assert.equal(response.status, 413);
    assert.equal(response.body.code, 'SOMA_ERR_BULK_TOO_LARGE');
    assert.equal(response.body.message, 'the bulk request has 101 items and the limit is 100; send the items in chunks or raise SOMA_MAX_BULK_ITEMS');
  });

  for (const factor of [1.5, 20]) {
    for (const withLength of [true, false]) {
      test(`body of ${factor}x the limit ${withLength ? 'with' : 'without'} Content-Length -> readable 413`, async () => {
        const text = 'x'.repeat(Math.floor(MAX_BODY_BYTES * factor));
        const body = Buffer.from(JSON.stringify({ items: [{ text }] }));
        const headers: Record<string, string | number> = withLength ? { 'content-length': body.length } : { 'transfer-encoding': 'chunked' };
        const response = await rawPost('/store_bulk', body, headers);
        assert.equal(response.status, 413);
        const parsed = JSON.parse(response.text) as { code: string; message: string };
        assert.equal(parsed.code, 'SOMA_ERR_BODY_TOO_LARGE');
        assert.match(parsed.message, new RegExp(`limit of ${MAX_BODY_BYTES} bytes; send the items in smaller chunks or raise SOMA_MAX_BODY_BYTES`));
      });
    }
  }

  test('text over SOMA_MAX_TEXT_LENGTH rejects that item by index only', async () => {
    const runId = uniqueName('run');
    const response = await bulk({ items: [{ text: 'ok', run_id: runId }, { text: 'x'.repeat(1001), run_id: runId }] });
    assert.equal(response.status, 201);
    assert.equal(response.body.accepted, 1);
    assert.equal(response.body.rejected[0].index, 1);
    assert.equal(response.body.rejected[0].code, 'SOMA_ERR_ITEM_TEXT_TOO_LONG');
    assert.match(response.body.rejected[0].message, /text has 1001 characters and the limit is 1000/);
    assert.equal(await countRows(postgresUrl, runId), 1);
  });
});

describe('item validation', () => {
  test('a wrong type is rejected, never coerced', async () => {
    const response = await bulk({ items: [{ text: 'a', importance: '5' }] });
    assert.equal(response.status, 400);
    assert.equal(response.body.code, 'SOMA_ERR_BULK_ALL_REJECTED');
    assert.equal(response.body.errors[0].code, 'SOMA_ERR_ITEM_INVALID');
    assert.equal(response.body.errors[0].message, 'item 0: field importance must be number, got string');
  });

  test('a missing text names the field', async () => {
    const response = await postJson(`${direct.url}/store`, { id: 'x' }, AUTH);
    assert.equal(response.status, 400);
    assert.equal(response.body.code, 'SOMA_ERR_ITEM_INVALID');
    assert.match(response.body.message, /field text is missing/);
  });

  test('\\u0000 and lone surrogates are rejected by index; neighbours are stored', async () => {
    const runId = uniqueName('run');
    const body = `{"items":[{"id":"${runId}-0","text":"fine","run_id":"${runId}"},{"id":"${runId}-1","text":"nul\\u0000","run_id":"${runId}"},` +
      `{"id":"${runId}-2","text":"lone \\ud800","run_id":"${runId}"},{"id":"${runId}-3","text":"ok","run_id":"${runId}","payload":{"k\\udc00":1}},` +
      `{"id":"${runId}-4","text":"pair \\ud83d\\ude00","run_id":"${runId}"}]}`;
    const response = await bulk(body);
    assert.equal(response.status, 201);
    assert.deepEqual(response.body.ids, [`${runId}-0`, `${runId}-4`]);
    assert.deepEqual(response.body.rejected.map((entry: { index: number; code: string }) => [entry.index, entry.code]), [
      [1, 'SOMA_ERR_ITEM_INVALID_STRING'],
      [2, 'SOMA_ERR_ITEM_INVALID_STRING'],
      [3, 'SOMA_ERR_ITEM_INVALID_STRING'],
    ]);
    assert.match(response.body.rejected[0].message, /item 1: the string at item.text contains the NUL character/);
    assert.match(response.body.rejected[1].message, /unpaired UTF-16 surrogate/);
    assert.equal(await countRows(postgresUrl, runId), 2);
    assert.equal(await countPoints(qdrantUrl, direct.namespace, runId), 2);
  });

  test('__proto__ keys reject the request with their path; nothing is stored', async () => {
    const runId = uniqueName('run');
    const body = `{"items":[{"text":"a","run_id":"${runId}"},{"text":"b","run_id":"${runId}","payload":{"__proto__":{"admin":true}}}]}`;
    const response = await bulk(body);
    assert.equal(response.status, 400);
    assert.equal(response.body.code, 'SOMA_ERR_BODY_FORBIDDEN_KEY');
    assert.match(response.body.message, /forbidden key body\.items\[1\]\.payload\.__proto__/);
    const escaped = await bulk(`{"items":[{"text":"a","payload":{"\\u005f_proto__":1}}]}`);
    assert.equal(escaped.status, 400);
    assert.equal(escaped.body.code, 'SOMA_ERR_BODY_FORBIDDEN_KEY');
    const constructorPrototype = await bulk('{"items":[{"text":"a","payload":{"constructor":{"prototype":{}}}}]}');
    assert.equal(constructorPrototype.status, 400);
    assert.equal(await countRows(postgresUrl, runId), 0);
  });

  test('the same id twice keeps the first occurrence and one row', async () => {
    const runId = uniqueName('run');
    const id = `${runId}-dup`;
    const response = await bulk({ items: [{ id, text: 'first', run_id: runId }, { id, text: 'second', run_id: runId }] });
    assert.equal(response.status, 201);
    assert.deepEqual(response.body.ids, [id]);
    assert.equal(response.body.rejected[0].code, 'SOMA_ERR_ITEM_DUPLICATE_ID');
    assert.match(response.body.rejected[0].message, /already appears at index 0/);
    const rows = await queryRows<{ value: { payload: { text: string } } }>(postgresUrl, 'SELECT value FROM public.kv_store WHERE run_id = $1', [runId]);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]?.value.payload.text, 'first');
  });

  test('no field of either item shape is stripped', async () => {
    const runId = uniqueName('run');
    const flat = { id: `${runId}-f`, text: 'flat', run_id: runId, type: 'semantic', importance: 0.5, payload: { nested: { deep: [1, { x: 'y' }] }, extra: true } };
    const coordinate = { id: `${runId}-c`, coord: [1.5, 2, 3], type: 'episodic', run_id: runId, payload: { label: 'c', meta: { a: null } } };
    const response = await bulk({ items: [flat, coordinate] });
    assert.equal(response.status, 201);
    const rows = await queryRows<{ id: string; value: Record<string, any> }>(postgresUrl, 'SELECT id, value FROM public.kv_store WHERE run_id = $1 ORDER BY id', [runId]);
    assert.deepEqual(rows[0]?.value.payload, { label: 'c', meta: { a: null }, coord: [1.5, 2, 3], run_id: runId });
    assert.equal(rows[0]?.value.type, 'episodic');
    assert.deepEqual(rows[1]?.value.payload, { nested: { deep: [1, { x: 'y' }] }, extra: true, text: 'flat', run_id: runId });
    assert.equal(rows[1]?.value.importance, 0.5);
    assert.equal(rows[1]?.value.type, 'semantic');
  });
});

describe('auth', () => {
  test('missing token -> 401, wrong token -> 403, probes stay open', async () => {
    const missing = await postJson(`${direct.url}/store`, { text: 'a' });
    assert.equal(missing.status, 401);
    assert.equal(missing.body.code, 'SOMA_ERR_AUTH_MISSING_TOKEN');
    assert.match(missing.body.message, /Authorization header is missing/);

    const wrong = await postJson(`${direct.url}/store`, { text: 'a' }, { authorization: 'Bearer nope' });
    assert.equal(wrong.status, 403);
    assert.equal(wrong.body.code, 'SOMA_ERR_AUTH_INVALID_TOKEN');

    for (const path of ['/healthz', '/readyz', '/metrics']) {
      assert.equal((await fetch(`${direct.url}${path}`)).status, 200, path);
    }
  });

  test('the token never appears in the log', () => {
    assert.ok(direct.logLines().length > 0);
    for (const line of direct.logLines()) assert.ok(!line.includes(TOKEN), line);
  });
});
