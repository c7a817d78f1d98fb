/**
 * Bad and edge-case input over HTTP, against a direct-mode app on real
 * Postgres and Qdrant. Every case gets a 4xx with a message that names the
 * field or limit, never a 5xx. Valid neighbours of a bad item are stored.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { somaError } from '../src/errors.js';
import { createFeatureHashingEmbedder } from '../src/embedding/feature-hashing.js';
import { createDirectSink } from '../src/ingest-sink.js';
import { createMetrics } from '../src/metrics.js';
import { createReadiness } from '../src/readiness.js';
import { createPostgresKvStore } from '../src/stores/postgres-kv-store.js';
import { createQdrantVectorStore } from '../src/stores/qdrant-vector-store.js';
import { countPoints, countRows, freePort, postJson, queryRows, testBackends, uniqueName } from './support/backends.js';
import { memoryLogger, startDirectApp, type DirectApp } from './support/apps.js';

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
function rawPost(
  path: string,
  body: Buffer,
  headers: Record<string, string | number>,
  method = 'POST',
): Promise<{ status: number; text: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const url = new URL(direct.url);
    const req = httpRequest(
      { host: url.hostname, port: url.port, path, method, headers: { 'content-type': 'application/json', ...AUTH, ...headers } },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }));
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
    ['items missing', '{}', 'SOMA_ERR_BODY_INVALID', /^the request body is invalid: field items is missing; send \{"items": \[\.\.\.\]\}/],
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
    assert.match(response.body.errors[0].message, /^item 0: item\.payload(\.a)+\.\.\. \(\d+ characters\) is nested more than 32 levels deep and the limit is 32 levels /);
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

/** Writes raw bytes to a new connection and returns everything the server sends until it closes the connection. */
async function rawExchange(baseUrl: string, data: string | Buffer): Promise<{ status: number; headers: string; body: string }> {
  const url = new URL(baseUrl);
  const socket = connect({ host: url.hostname, port: Number(url.port) });
  await once(socket, 'connect');
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
  // The server may reset the connection after sending its response; only the response is checked.
  socket.on('error', () => undefined);
  socket.write(data);
  await once(socket, 'close');
  const [head = '', body = ''] = received.split('\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(head)?.[1] ?? 0);
  return { status, headers: head, body };
}

describe('malformed HTTP', () => {
  test('an invalid request line -> 400 in the standard body', async () => {
    const response = await rawExchange(direct.url, 'NOT HTTP AT ALL\r\n\r\n');
    assert.equal(response.status, 400);
    assert.match(response.headers, /\r\ncontent-type: application\/json; charset=utf-8\r\n/i);
    const body = JSON.parse(response.body) as { statusCode: number; code: string; error: string; message: string };
    assert.equal(body.statusCode, 400);
    assert.equal(body.code, 'SOMA_ERR_HTTP_MALFORMED');
    assert.equal(body.error, 'Bad Request');
    assert.match(body.message, /^the request is not valid HTTP\/1\.1 \(HPE_[A-Z_]+: .+\); check the request line/);
  });

  test('headers over the size limit -> 431 in the standard body', async () => {
    const response = await rawExchange(direct.url, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(32 * 1024)}\r\n\r\n`);
    assert.equal(response.status, 431);
    const body = JSON.parse(response.body) as { statusCode: number; code: string; error: string; message: string };
    assert.equal(body.statusCode, 431);
    assert.equal(body.code, 'SOMA_ERR_HTTP_HEADERS_TOO_LARGE');
    assert.equal(body.error, 'Request Header Fields Too Large');
    assert.match(body.message, /^the request headers are larger than the limit of \d+ bytes/);
  });

  test('a body that stalls -> 408 in the standard body', async () => {
    const backends = await testBackends();
    const { log, lines } = memoryLogger();
    const config = loadConfig({
      SOMA_EVENTING_ENABLED: 'false',
      SOMA_ROLE: 'api',
      SOMA_POSTGRES_URL: backends.postgresUrl,
      SOMA_QDRANT_URL: backends.qdrantUrl,
      SOMA_DEFAULT_NAMESPACE: uniqueName('ns'),
    });
    const metrics = createMetrics({ collectDefaults: false });
    const embedder = createFeatureHashingEmbedder(config.vectorSize);
    const kvStore = createPostgresKvStore({ connectionString: backends.postgresUrl, log });
    const vectorStore = createQdrantVectorStore({ url: backends.qdrantUrl, vectorSize: config.vectorSize, log });
    const readiness = createReadiness({ log, probes: {} });
    const sink = createDirectSink({ kvStore, vectorStore, embedder, metrics, readiness });
    const app = buildApp({ config, log, metrics, readiness, embedder, sink, kvStore, vectorStore, requestTimeoutMs: 500 });
    try {
      const url = await app.listen({ host: '127.0.0.1', port: 0 });
      // Content-Length promises 100 bytes and one arrives; the connection then stays open.
      const response = await rawExchange(url, 'POST /store HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{');
      assert.equal(response.status, 408);
      const body = JSON.parse(response.body) as { statusCode: number; code: string; error: string; message: string };
      assert.equal(body.statusCode, 408);
      assert.equal(body.code, 'SOMA_ERR_HTTP_REQUEST_TIMEOUT');
      assert.equal(body.error, 'Request Timeout');
      assert.match(body.message, /^the request was not received completely within 500 ms/);
      const logged = lines().map((line) => JSON.parse(line) as { msg?: string; code?: string; statusCode?: number });
      assert.ok(logged.some((record) => record.msg === 'request rejected' && record.code === 'SOMA_ERR_HTTP_REQUEST_TIMEOUT' && record.statusCode === 408));
    } finally {
      await app.close();
      await kvStore.close();
    }
  });
});

/** Starts a direct-mode app with a 500 ms request timeout, so a stalled request gets its 408 quickly. */
async function startShortTimeoutApp(env: Record<string, string>): Promise<{ url: string; lines: () => string[]; close(): Promise<void> }> {
  const backends = await testBackends();
  const { log, lines } = memoryLogger();
  const config = loadConfig({
    SOMA_EVENTING_ENABLED: 'false',
    SOMA_ROLE: 'api',
    SOMA_POSTGRES_URL: backends.postgresUrl,
    SOMA_QDRANT_URL: backends.qdrantUrl,
    SOMA_DEFAULT_NAMESPACE: uniqueName('ns'),
    ...env,
  });
  const metrics = createMetrics({ collectDefaults: false });
  const embedder = createFeatureHashingEmbedder(config.vectorSize);
  const kvStore = createPostgresKvStore({ connectionString: backends.postgresUrl, log });
  const vectorStore = createQdrantVectorStore({ url: backends.qdrantUrl, vectorSize: config.vectorSize, log });
  const readiness = createReadiness({ log, probes: {} });
  const sink = createDirectSink({ kvStore, vectorStore, embedder, metrics, readiness });
  const app = buildApp({ config, log, metrics, readiness, embedder, sink, kvStore, vectorStore, requestTimeoutMs: 500 });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url,
    lines,
    async close() {
      await app.close();
      await kvStore.close();
    },
  };
}

/** Sends raw bytes on a new connection, waits until the server closes it, and returns each response's head. */
async function responseHeads(baseUrl: string, data: string): Promise<string[]> {
  const url = new URL(baseUrl);
  const socket = connect({ host: url.hostname, port: Number(url.port) });
  await once(socket, 'connect');
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
  socket.on('error', () => undefined);
  socket.write(data);
  await once(socket, 'close');
  return received.split(/(?=HTTP\/1\.1 \d{3} )/).filter((part) => part !== '').map((part) => part.split('\r\n\r\n')[0] ?? '');
}

describe('replies before the body arrived', () => {
  // Content-Length promises 100 bytes and 8 arrive; the client then sends nothing more.
  const partial = (head: string): string => `${head}Content-Length: 100\r\n\r\n{"text":`;

  test('early reply closes the connection', async () => {
    const server = await startShortTimeoutApp({ SOMA_API_TOKEN: TOKEN, SOMA_MAX_BODY_BYTES: '1024' });
    try {
      const cases: [string, string, number][] = [
        ['no token', partial('POST /store HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'), 401],
        ['wrong token', partial('POST /store HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\nContent-Type: application/json\r\n'), 403],
        [
          'gzip body',
          partial(`POST /store HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n`),
          415,
        ],
        [
          'latin1 charset',
          partial(`POST /store HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json; charset=latin1\r\n`),
          415,
        ],
        [
          'body too large to drain',
          `POST /store HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: ${1024 * 64 + 1}\r\n\r\n{"text":`,
          413,
        ],
      ];
      for (const [name, data, status] of cases) {
        const heads = await responseHeads(server.url, data);
        assert.equal(heads.length, 1, `${name}: ${heads.join(' | ')}`);
        assert.match(heads[0] ?? '', new RegExp(`^HTTP/1\\.1 ${status} `), name);
        assert.match(heads[0] ?? '', /\r\nconnection: close(\r\n|$)/i, name);
      }
    } finally {
      await server.close();
    }
  });

  test('body-draining replies send one response', async () => {
    const server = await startShortTimeoutApp({ SOMA_API_TOKEN: TOKEN });
    try {
      // 404, 405 and 415 for another content type drain the body before replying, so a stalled body ends in the 408 alone.
      const cases: [string, string][] = [
        ['unknown path', partial(`POST /nowhere HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\n`)],
        ['wrong method', partial(`DELETE /store_bulk HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\n`)],
        ['text body', partial(`POST /store HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: text/plain\r\n`)],
      ];
      for (const [name, data] of cases) {
        const heads = await responseHeads(server.url, data);
        assert.equal(heads.length, 1, `${name}: ${heads.join(' | ')}`);
        assert.match(heads[0] ?? '', /^HTTP\/1\.1 408 /, name);
      }
    } finally {
      await server.close();
    }
  });

  test('reply after the whole body keeps alive', async () => {
    const body = JSON.stringify({ text: 1 });
    const request =
      `POST /store HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${body.length}\r\n\r\n${body}`;
    // Two invalid items pipelined, the second asking to close: both get their 400 on one connection.
    const heads = await responseHeads(direct.url, request + request.replace('Host: x\r\n', 'Host: x\r\nConnection: close\r\n'));
    assert.equal(heads.length, 2, heads.join(' | '));
    assert.match(heads[0] ?? '', /^HTTP\/1\.1 400 /);
    assert.match(heads[0] ?? '', /\r\nconnection: keep-alive(\r\n|$)/i);
    assert.match(heads[1] ?? '', /^HTTP\/1\.1 400 /);
  });
});

describe('body encodings and charsets', () => {
  test('Content-Encoding gzip -> 415 naming the encoding', async () => {
    const response = await rawPost('/store', gzipSync(JSON.stringify({ text: 'zipped' })), { 'content-encoding': 'gzip' });
    assert.equal(response.status, 415);
    const body = JSON.parse(response.text) as { code: string; message: string };
    assert.equal(body.code, 'SOMA_ERR_BODY_UNSUPPORTED_ENCODING');
    assert.match(body.message, /^Content-Encoding "gzip" is not supported; send the body uncompressed/);
  });

  test('Content-Encoding identity is accepted', async () => {
    const runId = uniqueName('run');
    const response = await rawPost('/store', Buffer.from(JSON.stringify({ text: 'plain', run_id: runId })), { 'content-encoding': 'identity' });
    assert.equal(response.status, 201, response.text);
  });

  test('a charset other than utf-8 -> 415 naming it', async () => {
    for (const contentType of ['application/json; charset=latin1', 'application/json; charset="ISO-8859-1"']) {
      const response = await rawPost('/store', Buffer.from('{"text":"caf\xe9"}', 'latin1'), { 'content-type': contentType });
      assert.equal(response.status, 415, contentType);
      const body = JSON.parse(response.text) as { code: string; message: string };
      assert.equal(body.code, 'SOMA_ERR_BODY_UNSUPPORTED_CHARSET', contentType);
      assert.match(body.message, /^charset "(latin1|ISO-8859-1)" is not supported; encode the JSON text as UTF-8/, contentType);
    }
  });

  test('charset utf-8 in any case or quoted is accepted', async () => {
    for (const contentType of ['application/json; charset=utf-8', 'application/json;charset=UTF-8', 'application/json; charset="utf-8"']) {
      const response = await rawPost('/store', Buffer.from(JSON.stringify({ text: 'café', run_id: uniqueName('run') })), { 'content-type': contentType });
      assert.equal(response.status, 201, `${contentType}: ${response.text}`);
    }
  });

  test('a repeated key keeps its last value, as JSON.parse does', async () => {
    const runId = uniqueName('run');
    const response = await rawPost('/store', Buffer.from(`{"text":"first","text":"second","run_id":"${runId}"}`), {});
    assert.equal(response.status, 201, response.text);
    const rows = await queryRows<{ value: { payload: { text: string } } }>(postgresUrl, 'SELECT value FROM public.kv_store WHERE run_id = $1', [runId]);
    assert.equal(rows[0]?.value.payload.text, 'second');
  });
});

describe('read and recall input', () => {
  test('an id Postgres cannot hold -> 400 naming the problem', async () => {
    const cases: [string, string][] = [
      ['a%00b', 'the memory id is invalid: the id contains the NUL character \\u0000'],
      ['x'.repeat(257), 'the memory id is invalid: the id has 257 characters and the limit is 256'],
    ];
    for (const [id, message] of cases) {
      const response = await fetch(`${direct.url}/memories/${id}`, { headers: AUTH });
      assert.equal(response.status, 400, id);
      const body = (await response.json()) as { code: string; message: string };
      assert.equal(body.code, 'SOMA_ERR_MEMORY_INVALID_ID');
      assert.ok(body.message.startsWith(message), body.message);
    }
  });

  test('filter values Qdrant cannot match -> 400 naming the key', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ importance: 0.5 }, /^the recall request is invalid: filter\.importance is the number 0\.5; a filter value must be a string, an integer within ±\(2\^53 - 1\) or a boolean/],
      [{ run_id: 2 ** 70 }, /^the recall request is invalid: filter\.run_id is a number beyond ±\(2\^53 - 1\) = ±9007199254740991, whose digits JSON parsing cannot keep exactly; /],
      [{ type: null }, /^the recall request is invalid: filter\.type is null; /],
      [{ tags: ['a'] }, /^the recall request is invalid: filter\.tags is an array; /],
    ];
    for (const [filter, message] of cases) {
      const response = await postJson(`${direct.url}/recall`, { query: 'x', filter }, AUTH);
      assert.equal(response.status, 400, JSON.stringify(filter));
      assert.equal(response.body.code, 'SOMA_ERR_RECALL_INVALID');
      assert.match(response.body.message, message);
    }
  });

  test('rounded filter integers are not echoed', async () => {
    const cases: [string, RegExp][] = [
      ['9223372036854775807', /^the recall request is invalid: filter\.n is a number beyond ±\(2\^53 - 1\) = ±9007199254740991, whose digits JSON parsing cannot keep exactly; a filter value must be a string, an integer within ±\(2\^53 - 1\) or a boolean/],
      ['1e300', /^the recall request is invalid: filter\.n is a number beyond ±\(2\^53 - 1\)/],
      ['-1e400', /^the recall request is invalid: filter\.n is a number out of the double range/],
    ];
    for (const [literal, message] of cases) {
      const response = await postJson(`${direct.url}/recall`, `{"query":"x","filter":{"n":${literal}}}`, AUTH);
      assert.equal(response.status, 400, literal);
      assert.equal(response.body.code, 'SOMA_ERR_RECALL_INVALID');
      assert.match(response.body.message, message);
      assert.ok(!/9223372036854776000|1e\+300|Infinity/.test(response.body.message), response.body.message);
    }
    const largest = await postJson(`${direct.url}/recall`, '{"query":"x","filter":{"n":9007199254740991}}', AUTH);
    assert.equal(largest.status, 200, JSON.stringify(largest.body));
  });

  test('string, integer and boolean filter values are searched', async () => {
    const response = await postJson(`${direct.url}/recall`, { query: 'x', filter: { run_id: uniqueName('run'), importance: 2, flag: true } }, AUTH);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.deepEqual(response.body.results, []);
  });

  test('a filter the stand-in rejects -> 400 with its reason, readiness untouched', async () => {
    const response = await postJson(`${direct.url}/recall`, { query: 'x', filter: { 'payload.text': 'x' } }, AUTH);
    assert.equal(response.status, 400, JSON.stringify(response.body));
    assert.equal(response.body.code, 'SOMA_ERR_RECALL_REJECTED');
    assert.match(response.body.message, /^Qdrant rejected the search with status 400 \(Wrong input: the Qdrant Edge stand-in cannot filter on nested key payload\.text, /);
    const ready = await fetch(`${direct.url}/readyz`);
    assert.equal(ready.status, 200);
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
    assert.match(response.body.rejected[0].message, /text has 1001 characters \(Unicode code points\) and the limit is 1000/);
    assert.equal(await countRows(postgresUrl, runId), 1);
  });
});

describe('item validation', () => {
  test('a wrong type is rejected, never coerced', async () => {
    const response = await bulk({ items: [{ text: 'a', importance: '5' }] });
    assert.equal(response.status, 400);
    assert.equal(response.body.code, 'SOMA_ERR_BULK_ALL_REJECTED');
    assert.equal(response.body.errors[0].code, 'SOMA_ERR_ITEM_INVALID');
    assert.equal(response.body.errors[0].message, 'item 0: field importance must be a number, got a string');
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

  test('inexact numbers are rejected by path', async () => {
    const runId = uniqueName('run');
    const item = (n: number, extra: string): string => `{"id":"${runId}-${n}","text":"t","run_id":"${runId}"${extra}}`;
    const body =
      `{"items":[${item(0, ',"payload":{"max":9007199254740991,"min":-9007199254740991,"small":1.5e-300,"exp":6.5e15}')},` +
      `${item(1, ',"payload":{"big":1e400}')},${item(2, ',"payload":{"prec":12345678901234567890}')},` +
      `${item(3, ',"importance":-1e400')},${item(4, ',"payload":{"list":[1,9007199254740993]}')},` +
      `{"id":"${runId}-5","coord":[1,2e400],"type":"semantic","payload":{"run_id":"${runId}"}}]}`;
    const response = await bulk(body);
    assert.equal(response.status, 201, JSON.stringify(response.body));
    assert.deepEqual(response.body.ids, [`${runId}-0`]);
    const rejected = response.body.rejected as { index: number; code: string; message: string }[];
    assert.deepEqual(rejected.map((entry) => [entry.index, entry.code]), [
      [1, 'SOMA_ERR_ITEM_INVALID_NUMBER'],
      [2, 'SOMA_ERR_ITEM_INVALID_NUMBER'],
      [3, 'SOMA_ERR_ITEM_INVALID_NUMBER'],
      [4, 'SOMA_ERR_ITEM_INVALID_NUMBER'],
      [5, 'SOMA_ERR_ITEM_INVALID_NUMBER'],
    ]);
    assert.match(rejected[0]?.message ?? '', /^item 1: item\.payload\.big is a number out of the double range \(beyond ±1\.7976931348623157e308\), so it would not be stored as sent; send the value as a string/);
    assert.match(rejected[1]?.message ?? '', /^item 2: item\.payload\.prec is a number beyond ±\(2\^53 - 1\) = ±9007199254740991, whose digits JSON parsing cannot keep exactly/);
    assert.match(rejected[2]?.message ?? '', /^item 3: item\.importance is a number out of the double range/);
    assert.match(rejected[3]?.message ?? '', /^item 4: item\.payload\.list\[1\] is a number beyond/);
    assert.match(rejected[4]?.message ?? '', /^item 5: item\.coord\[1\] is a number out of the double range/);
    for (const entry of rejected) {
      assert.ok(!entry.message.includes('Infinity'), entry.message);
      assert.ok(!entry.message.includes('12345678901234567000'), entry.message);
    }

    const rows = await queryRows<{ value: { payload: Record<string, unknown> } }>(postgresUrl, 'select value from kv_store where id = $1', [`${runId}-0`]);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]?.value.payload.max, 9007199254740991);
    assert.equal(rows[0]?.value.payload.min, -9007199254740991);
    assert.equal(rows[0]?.value.payload.small, 1.5e-300);
    assert.equal(rows[0]?.value.payload.exp, 6.5e15);
    assert.equal(await countRows(postgresUrl, runId), 1);
  });

  test('out-of-range number in /store -> 400', async () => {
    const id = uniqueName('big');
    const response = await postJson(`${direct.url}/store`, `{"id":"${id}","text":"ok","payload":{"big":1e400,"prec":12345678901234567890}}`, AUTH);
    assert.equal(response.status, 400);
    assert.equal(response.body.errors?.[0]?.code, 'SOMA_ERR_ITEM_INVALID_NUMBER');
    assert.match(response.body.errors?.[0]?.message ?? '', /item\.payload\.(big|prec) is a number/);
    const rows = await queryRows(postgresUrl, 'select id from kv_store where id = $1', [id]);
    assert.equal(rows.length, 0);
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

/** Builds an item whose deepest object or array sits at `depth`, counting the item itself as level 1. */
function nestedItem(depth: number, runId: string, id: string): Record<string, unknown> {
  let payload: Record<string, unknown> = { leaf: 1 };
  for (let level = 3; level <= depth; level++) payload = { a: payload };
  return { id, text: 'deep', run_id: runId, payload };
}

/** Parses the JSON log lines of the direct app. */
function logRecords(): Record<string, unknown>[] {
  return direct.logLines().map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('body encoding', () => {
  test('invalid UTF-8 -> 400 naming the byte offset', async () => {
    const body = Buffer.concat([Buffer.from('{"items":[{"text":"caf'), Buffer.from([0xe9]), Buffer.from('"}]}')]);
    const response = await rawPost('/store_bulk', body, {});
    assert.equal(response.status, 400);
    const parsed = JSON.parse(response.text) as { code: string; message: string; error: string };
    assert.equal(parsed.code, 'SOMA_ERR_BODY_INVALID_ENCODING');
    assert.equal(parsed.error, 'Bad Request');
    assert.equal(parsed.message, 'the request body is not valid UTF-8 (invalid byte 0xe9 at byte offset 22); encode the JSON text as UTF-8');
  });

  test('overlong and surrogate UTF-8 sequences -> 400', async () => {
    for (const bad of [[0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80]]) {
      const body = Buffer.concat([Buffer.from('{"items":[{"text":"'), Buffer.from(bad), Buffer.from('"}]}')]);
      const response = await rawPost('/store_bulk', body, {});
      assert.equal(response.status, 400, bad.join(','));
      assert.match(response.text, /SOMA_ERR_BODY_INVALID_ENCODING/);
    }
  });

  test('multi-byte UTF-8 text is stored unchanged', async () => {
    const runId = uniqueName('run');
    const text = 'café ✓ 😀';
    const response = await rawPost('/store_bulk', Buffer.from(JSON.stringify({ items: [{ id: `${runId}-u`, text, run_id: runId }] })), {});
    assert.equal(response.status, 201);
    const rows = await queryRows<{ value: { payload: { text: string } } }>(postgresUrl, 'SELECT value FROM public.kv_store WHERE id = $1', [`${runId}-u`]);
    assert.equal(rows[0]?.value.payload.text, text);
  });

  test('a leading UTF-8 byte order mark is skipped', async () => {
    const runId = uniqueName('run');
    const json = JSON.stringify({ items: [{ id: `${runId}-bom`, text: 'after a BOM', run_id: runId }] });
    const response = await rawPost('/store_bulk', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(json)]), {});
    assert.equal(response.status, 201);
    assert.equal(await countRows(postgresUrl, runId), 1);
    const onlyBom = await rawPost('/store_bulk', Buffer.from([0xef, 0xbb, 0xbf]), {});
    assert.equal(onlyBom.status, 400);
    assert.match(onlyBom.text, /SOMA_ERR_BODY_EMPTY/);
  });
});

describe('nesting depth', () => {
  test('32 levels are accepted and 33 rejected', async () => {
    const runId = uniqueName('run');
    const response = await bulk({ items: [nestedItem(32, runId, `${runId}-32`), nestedItem(33, runId, `${runId}-33`)] });
    assert.equal(response.status, 201);
    assert.deepEqual(response.body.ids, [`${runId}-32`]);
    assert.equal(response.body.rejected[0].code, 'SOMA_ERR_ITEM_TOO_DEEP');
    assert.match(response.body.rejected[0].message, /^item 1: item\.payload\.a\.a.* is nested more than 32 levels deep and the limit is 32 levels \(the item object is level 1/);
  });
});

describe('item messages', () => {
  test('ajv wording is replaced by sentences naming field and limit', async () => {
    const cases: [unknown, string][] = [
      [{ text: '' }, 'item 0: field text must not be empty'],
      [{ text: 'a', id: 'x'.repeat(300) }, 'item 0: field id has 300 characters and the limit is 256'],
      [{ text: 'a', type: 7 }, 'item 0: field type must be a string, got a number'],
      [{ text: 'a', namespace: 'bad ns' }, `item 0: field namespace "bad ns" is invalid; use letters, digits, '_', '.' and '-', starting with a letter or digit`],
    ];
    const coordShapes = 'field coord must be an array of 1 to 1024 numbers, such as [1, 2.5, 3], or a string of 1 to 1024 characters such as "1,2.5,3"';
    cases.push(
      [{ coord: [], payload: {}, type: 't' }, `item 0: ${coordShapes}, got an empty array`],
      [{ coord: Array.from({ length: 1025 }, (_, index) => index), payload: {}, type: 't' }, `item 0: ${coordShapes}, got an array of 1025 elements, more than 1024`],
      [{ coord: [1, 'x'], payload: {}, type: 't' }, `item 0: ${coordShapes}, got an array whose element 1 is a string`],
      [{ coord: 'x'.repeat(1025), payload: {}, type: 't' }, `item 0: ${coordShapes}, got a string of 1025 characters, more than 1024`],
      [{ coord: '', payload: {}, type: 't' }, `item 0: ${coordShapes}, got an empty string`],
      [{ coord: 5, payload: {}, type: 't' }, `item 0: ${coordShapes}, got a number`],
      [{ text: 'a', timestamp: '2025-02-30T00:00:00Z' }, 'item 0: timestamp "2025-02-30T00:00:00Z" is invalid (no such date: February has 28 days in 2025); send an ISO 8601 date-time with an offset, such as 2025-09-27T12:34:56.789+00:00, or epoch seconds or milliseconds'],
      [{ text: 'a', timestamp: '+010000-01-01T00:00:00Z' }, 'item 0: timestamp "+010000-01-01T00:00:00Z" is invalid (year 10000 is out of range 0000-9999); send an ISO 8601 date-time with an offset, such as 2025-09-27T12:34:56.789+00:00, or epoch seconds or milliseconds'],
    );
    for (const [item, message] of cases) {
      const response = await bulk({ items: [item] });
      assert.equal(response.status, 400, message);
      assert.equal(response.body.errors[0].message, message);
    }
  });

  test('coord as a string is stored as sent; a blank string is rejected', async () => {
    const runId = uniqueName('run');
    const response = await bulk({ items: [{ coord: `${runId} 1,2,3`, payload: {}, type: 'semantic', run_id: runId }, { coord: '   ', payload: {}, type: 'semantic' }] });
    assert.equal(response.status, 201);
    assert.deepEqual(response.body.ids, [`${runId} 1,2,3`]);
    assert.equal(response.body.rejected[0].index, 1);
    assert.match(response.body.rejected[0].message, /^item 1: field coord must be an array of 1 to 1024 numbers.*, got a string of only white space$/);
    const rows = await queryRows<{ value: { payload: { coord: unknown } } }>(postgresUrl, 'SELECT value FROM public.kv_store WHERE run_id = $1', [runId]);
    assert.equal(rows[0]?.value.payload.coord, `${runId} 1,2,3`);
  });

  test('text length counts code points, not UTF-16 units', async () => {
    const runId = uniqueName('run');
    const emoji = '😀';
    const response = await bulk({ items: [{ text: emoji.repeat(1000), run_id: runId }, { text: emoji.repeat(1001), run_id: runId }] });
    assert.equal(response.status, 201);
    assert.equal(response.body.accepted, 1);
    assert.match(response.body.rejected[0].message, /^item 1: text has 1001 characters \(Unicode code points\) and the limit is 1000/);
  });

  test('a 10,000-character id is cut short in messages', async () => {
    const id = 'i'.repeat(10_000);
    const stored = await bulk({ items: [{ id, text: 'a' }] });
    assert.equal(stored.status, 400);
    assert.equal(stored.body.errors[0].id, undefined);
    assert.ok(stored.body.errors[0].message.length < 200, stored.body.errors[0].message);

    const read = await fetch(`${direct.url}/memories/${'i'.repeat(256)}`, { headers: AUTH });
    assert.equal(read.status, 404);
    const body = (await read.json()) as { message: string };
    assert.equal(body.message, `no memory with id "${'i'.repeat(64)}"... (256 characters) is stored; check the id, or retry if it was stored just now`);

    const long = await fetch(`${direct.url}/memories/${id}`, { headers: AUTH });
    assert.equal(long.status, 414);
    const longBody = (await long.json()) as { code: string; message: string };
    assert.equal(longBody.code, 'SOMA_ERR_ROUTE_URL_TOO_LONG');
    assert.equal(longBody.message, `a path segment of /memories/${'i'.repeat(54)}... (10010 characters) is longer than 3072 characters; ids have at most 256 characters`);
  });

  test('recall errors use plain wording', async () => {
    const response = await postJson(`${direct.url}/recall`, { query: 'q', top_k: 0 }, AUTH);
    assert.equal(response.status, 400);
    assert.equal(response.body.message, 'the recall request is invalid: field top_k must be at least 1, got 0');
  });
});

describe('routing', () => {
  test('a known path with another method -> 405 with Allow', async () => {
    const response = await rawPost('/store_bulk', Buffer.alloc(0), {}, 'DELETE');
    assert.equal(response.status, 405);
    assert.equal(response.headers.allow, 'POST');
    assert.deepEqual(JSON.parse(response.text), {
      statusCode: 405,
      code: 'SOMA_ERR_ROUTE_METHOD_NOT_ALLOWED',
      error: 'Method Not Allowed',
      message: 'method DELETE is not allowed on /store_bulk; use POST',
    });
    const memories = await fetch(`${direct.url}/memories/abc`, { method: 'DELETE', headers: AUTH });
    assert.equal(memories.status, 405);
    assert.match(memories.headers.get('allow') ?? '', /GET/);
  });

  test('an unknown path -> 404 whatever the body', async () => {
    const response = await rawPost('/nope', Buffer.from('not json'), {});
    assert.equal(response.status, 404);
    const body = JSON.parse(response.text) as { code: string; statusCode: number; error: string; message: string };
    assert.equal(body.code, 'SOMA_ERR_ROUTE_NOT_FOUND');
    assert.equal(body.error, 'Not Found');
    assert.equal(body.message, 'route POST /nope does not exist; see the service README for the routes');
  });

  test('an undecodable path -> 400 in the standard body', async () => {
    const response = await fetch(`${direct.url}/memories/%E0%A4%A`, { headers: AUTH });
    assert.equal(response.status, 400);
    const body = (await response.json()) as { code: string; message: string };
    assert.equal(body.code, 'SOMA_ERR_ROUTE_INVALID_URL');
    assert.equal(body.message, 'the path /memories/%E0%A4%A is not a valid URL path; percent-encode the id, for example with encodeURIComponent');
  });
});

describe('auth schemes', () => {
  test('a Basic header names the scheme, never the credential', async () => {
    const response = await postJson(`${direct.url}/store`, { text: 'a' }, { authorization: 'Basic c29tYTpzZWNyZXQ=' });
    assert.equal(response.status, 401);
    assert.equal(response.body.code, 'SOMA_ERR_AUTH_INVALID_SCHEME');
    assert.equal(response.body.message, 'expected "Authorization: Bearer <token>", got scheme Basic; send the SOMA_API_TOKEN value as a bearer token');
    assert.ok(!response.body.message.includes('c29tYTpzZWNyZXQ='));
  });

  test('a bare token is reported without echoing it', async () => {
    const response = await postJson(`${direct.url}/store`, { text: 'a' }, { authorization: TOKEN });
    assert.equal(response.status, 401);
    assert.equal(response.body.code, 'SOMA_ERR_AUTH_INVALID_SCHEME');
    assert.match(response.body.message, /got a value without a scheme \(not shown\)/);
    assert.ok(!response.body.message.includes(TOKEN));
  });

  test('Bearer without a token is a missing token', async () => {
    const response = await postJson(`${direct.url}/store`, { text: 'a' }, { authorization: 'Bearer ' });
    assert.equal(response.status, 401);
    assert.equal(response.body.code, 'SOMA_ERR_AUTH_MISSING_TOKEN');
    assert.match(response.body.message, /^the Authorization header has the Bearer scheme but no token/);
  });
});

describe('error logging', () => {
  test('4xx log lines carry method, path, status and code', async () => {
    const response = await rawPost('/store_bulk?api_key=query-secret-41', Buffer.from('{"items": ['), {});
    assert.equal(response.status, 400);
    await postJson(`${direct.url}/store`, { text: 'a' }, { authorization: `Basic ${TOKEN}` });

    const rejected = logRecords().filter((record) => record.msg === 'request rejected' && record.code === 'SOMA_ERR_BODY_INVALID_JSON');
    assert.ok(rejected.length > 0);
    assert.equal(rejected.at(-1)?.method, 'POST');
    assert.equal(rejected.at(-1)?.url, '/store_bulk');
    assert.equal(rejected.at(-1)?.statusCode, 400);
    const completed = logRecords().filter((record) => record.msg === 'request completed' && record.code === 'SOMA_ERR_BODY_INVALID_JSON');
    assert.equal(completed.at(-1)?.url, '/store_bulk');
    assert.equal(completed.at(-1)?.statusCode, 400);
    const auth = logRecords().filter((record) => record.msg === 'request rejected' && record.code === 'SOMA_ERR_AUTH_INVALID_SCHEME');
    assert.equal(auth.at(-1)?.statusCode, 401);

    for (const line of direct.logLines()) {
      assert.ok(!line.includes('query-secret-41'), line);
      assert.ok(!line.includes(TOKEN), line);
    }
  });
});

describe('5xx log levels', () => {
  test('a dependency 503 logs at warn, a bug at error with its stack', async () => {
    const { log, lines } = memoryLogger();
    // No sink, so the app serves only health, readiness and metrics; the URLs are never dialled.
    const config = loadConfig({ SOMA_EVENTING_ENABLED: 'false', SOMA_ROLE: 'api', SOMA_POSTGRES_URL: 'postgres://127.0.0.1:1/none', SOMA_QDRANT_URL: 'http://127.0.0.1:1' });
    const metrics = createMetrics({ collectDefaults: false });
    const readiness = createReadiness({ log, probes: {} });
    const app = buildApp({ config, log, metrics, readiness, embedder: createFeatureHashingEmbedder(config.vectorSize) });
    app.get('/test/down', async () => {
      throw somaError('SOMA_ERR_DEPENDENCY_UNAVAILABLE', { dependency: 'postgres', detail: 'connection refused' }, { cause: new Error('connect ECONNREFUSED') });
    });
    app.get('/test/bug', async () => {
      throw new TypeError('cannot read properties of undefined');
    });
    try {
      assert.equal((await app.inject({ method: 'GET', url: '/test/down' })).statusCode, 503);
      assert.equal((await app.inject({ method: 'GET', url: '/test/bug' })).statusCode, 500);
    } finally {
      await app.close();
    }

    type Line = { level: number; msg: string; code?: string; reason?: string; cause?: string; err?: { stack?: string } };
    const failed = lines().map((line) => JSON.parse(line) as Line).filter((record) => record.msg === 'request failed');
    const down = failed.find((record) => record.code === 'SOMA_ERR_DEPENDENCY_UNAVAILABLE');
    assert.equal(down?.level, 40);
    assert.equal(down?.err, undefined);
    assert.equal(down?.cause, 'connect ECONNREFUSED');
    assert.match(down?.reason ?? '', /^postgres is unavailable \(connection refused\)/);
    const bug = failed.find((record) => record.code === 'SOMA_ERR_SERVICE_INTERNAL');
    assert.equal(bug?.level, 50);
    assert.match(bug?.err?.stack ?? '', /TypeError: cannot read properties of undefined\n\s+at /);
  });
});

describe('dependencies down', () => {
  let down: DirectApp;
  let closedPort: number;

  before(async () => {
    closedPort = await freePort();
    down = await startDirectApp(await testBackends(), {}, {
      postgresUrl: `postgres://soma:pg-secret-9@127.0.0.1:${closedPort}/postgres`,
      qdrantUrl: `http://127.0.0.1:${closedPort}`,
    });
  });

  after(async () => {
    await down.close();
  });

  test('/readyz names the address and the fix', async () => {
    const response = await fetch(`${down.url}/readyz`);
    assert.equal(response.status, 503);
    const body = (await response.json()) as { checks: Record<string, { ok: boolean; detail: string }> };
    assert.match(body.checks.qdrant?.detail ?? '', new RegExp(`^qdrant at 127\\.0\\.0\\.1:${closedPort} is unreachable: connection refused \\(ECONNREFUSED 127\\.0\\.0\\.1:${closedPort}\\); check that Qdrant is running and SOMA_QDRANT_URL names it$`));
    assert.match(body.checks.postgres?.detail ?? '', /^postgres at .* is unreachable: connection refused/);
    assert.ok(!JSON.stringify(body).includes('pg-secret-9'));
  });

  test('/recall and /memories 503s say nothing about storing', async () => {
    const recall = await postJson(`${down.url}/recall`, { query: 'q' });
    assert.equal(recall.status, 503);
    assert.equal(recall.body.code, 'SOMA_ERR_DEPENDENCY_UNAVAILABLE');
    assert.match(recall.body.message, /^qdrant is unavailable \(connection refused \(ECONNREFUSED 127\.0\.0\.1:\d+\)\); the search did not run, retry the request later$/);

    const memory = await fetch(`${down.url}/memories/abc`);
    assert.equal(memory.status, 503);
    const body = (await memory.json()) as { message: string };
    assert.match(body.message, /^postgres is unavailable \(connection refused .*\); the memory could not be read, retry the request later$/);
  });
});

describe('closing', () => {
  test('request during close gets draining 503', async () => {
    const closing = await startDirectApp(await testBackends(), { SOMA_API_TOKEN: TOKEN });
    const url = new URL(closing.url);
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    await once(socket, 'connect');
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));

    // The first request sends its headers and half its body, so it is in
    // flight when close() begins and close() waits for it. Node's server
    // sends 100 Continue when it hands the request to fastify, which proves
    // the request passed routing before close() began.
    const body = JSON.stringify({ text: 'in flight while closing', run_id: uniqueName('run') });
    const head =
      `POST /store HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${TOKEN}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\n\r\n`;
    socket.write(head + body.slice(0, 10));
    while (!received.includes('100 Continue')) await once(socket, 'data');
    const closed = closing.close();

    // The rest of the first body, then a second request pipelined on the same
    // connection: it reaches the router after close() began.
    socket.write(body.slice(10));
    socket.write(`GET /memories/abc HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`);
    await once(socket, 'end');
    await closed;

    const responses = received.split(/(?=HTTP\/1\.1 )/).filter((response) => !response.startsWith('HTTP/1.1 100 '));
    assert.equal(responses.length, 2, received);
    assert.match(responses[0] ?? '', /^HTTP\/1\.1 201 /);
    assert.match(responses[1] ?? '', /^HTTP\/1\.1 503 /);
    assert.match(responses[1] ?? '', /\r\nretry-after: \d+\r\n/i);
    const errorBody = JSON.parse((responses[1] ?? '').split('\r\n\r\n')[1] ?? '') as { code: string; message: string };
    assert.equal(errorBody.code, 'SOMA_ERR_SERVICE_DRAINING');
    assert.match(errorBody.message, /shutting down/);

    // The drain's 503 is expected, so it is logged at info without a stack.
    const logged = closing.logLines().map((line) => JSON.parse(line) as { level: number; msg: string; code?: string; err?: unknown });
    const draining = logged.filter((record) => record.msg === 'request failed' && record.code === 'SOMA_ERR_SERVICE_DRAINING');
    assert.equal(draining.length, 1);
    assert.equal(draining[0]?.level, 30);
    assert.equal(draining[0]?.err, undefined);
  });
});
