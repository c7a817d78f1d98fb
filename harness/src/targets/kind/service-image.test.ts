/**
 * The service image, built and run for real: a Docker daemon started with
 * tools/image/dockerd.sh (no bridge network, no iptables changes), a Node base
 * image made without any registry by tools/image/build-base-image.sh, and
 * service/Dockerfile built on it through NODE_IMAGE. The container runs with
 * --network host against the local target's Postgres, Kafka and Qdrant. The
 * tests check that the service process is not root and that node_modules
 * contains no development package: neither the build and test tools nor any
 * package that package-lock.json marks dev-only.
 *
 * The test is skipped only when dockerd cannot be started, and then it prints
 * the reason on stderr and counts as skipped in the runner's summary. With CI=true it fails instead.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { getBackends, type BackendEndpoints } from '../../../../test/support/backends.js';
import { createProcessRunner } from './command-runner.js';
import { computeImageTag, ensureImage, imageRef } from './image.js';
import { REPO_ROOT } from './test-tools.js';

const RUN_ID = `image-test-${randomUUID().slice(0, 8)}`;
const SUFFIX = RUN_ID.replace(/-/g, '_');
const TOKEN = randomUUID();
const CONTAINER = `soma-${RUN_ID}`;
const READY_TIMEOUT_MS = 90_000;
const STORE_TIMEOUT_MS = 60_000;
const HEALTHY_TIMEOUT_MS = 60_000;

interface DockerSetup {
  dockerHost?: string;
  startedHere: boolean;
  skipReason?: string;
}

let docker: DockerSetup = { startedHere: false };
let image = '';
let backends: BackendEndpoints;
let port = 0;
let containerStarted = false;

function dockerCommand(args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 16 * 1024 * 1024 }).trim();
}

function daemonAnswers(): boolean {
  return spawnSync('docker', ['version', '--format', '{{.Server.Version}}'], { stdio: 'ignore' }).status === 0;
}

/** Uses DOCKER_HOST when its daemon responds, else starts a daemon with tools/image/dockerd.sh. */
function startDocker(): DockerSetup {
  if (process.env.DOCKER_HOST && daemonAnswers()) return { dockerHost: process.env.DOCKER_HOST, startedHere: false };
  const result = spawnSync('bash', ['tools/image/dockerd.sh', 'start'], { cwd: REPO_ROOT, encoding: 'utf8' });
  const host = /DOCKER_HOST=(\S+)/.exec(result.stdout)?.[1];
  if (result.status !== 0 || !host) {
    const detail = `${result.stderr}${result.error?.message ?? ''}`.trim().split('\n').slice(-5).join(' | ');
    return { startedHere: false, skipReason: `dockerd could not be started (tools/image/dockerd.sh start exited ${result.status}): ${detail}` };
  }
  return { dockerHost: host, startedHere: !result.stderr.includes('already running') };
}

function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePromise(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Prints the top-level package names under /app/node_modules (scoped ones as @scope/name) as a JSON array. */
const LIST_PACKAGES_SCRIPT = `
const { readdirSync } = require('node:fs');
const root = '/app/node_modules';
const names = [];
for (const entry of readdirSync(root)) {
  if (entry.startsWith('.')) continue;
  if (entry.startsWith('@')) for (const scoped of readdirSync(root + '/' + entry)) names.push(entry + '/' + scoped);
  else names.push(entry);
}
process.stdout.write(JSON.stringify(names.sort()));
`;

/** Reads the Uid and Gid lines (real, effective, saved, filesystem) of a /proc/PID/status text. */
function processIds(status: string): { uid: number[]; gid: number[] } {
  const field = (name: string): number[] => {
    const line = status.split('\n').find((entry) => entry.startsWith(`${name}:`));
    assert.ok(line, `/proc/1/status has no ${name} line`);
    return line.slice(name.length + 1).trim().split(/\s+/).map(Number);
  };
  return { uid: field('Uid'), gid: field('Gid') };
}

function containerLogs(): string {
  const result = spawnSync('docker', ['logs', '--tail', '60', CONTAINER], { encoding: 'utf8' });
  return `${result.stdout}${result.stderr}`;
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(500);
  }
  throw new Error(`${what} not reached within ${timeoutMs / 1000}s${lastError ? ` (last error: ${String(lastError)})` : ''}\ncontainer log:\n${containerLogs()}`);
}

before(async () => {
  docker = startDocker();
  if (docker.skipReason) {
    if (process.env.CI === 'true') throw new Error(`service image test cannot run in CI: ${docker.skipReason}`);
    process.stderr.write(`\n*** SKIPPING the service image tests: ${docker.skipReason}\n*** Install docker.io and run as root, or set DOCKER_HOST to a running daemon.\n\n`);
    return;
  }
  process.env.DOCKER_HOST = docker.dockerHost;
  // The legacy builder: Debian's docker.io ships no buildx plugin.
  process.env.DOCKER_BUILDKIT = '0';

  const base = execFileSync('bash', ['tools/image/build-base-image.sh'], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').at(-1)!;
  const tag = computeImageTag(REPO_ROOT, base);
  await ensureImage(createProcessRunner(), { rootDir: REPO_ROOT, tag, nodeImage: base, network: 'host' });
  image = imageRef(tag);
  backends = await getBackends();
  port = await freePort();
});

after(() => {
  if (containerStarted) spawnSync('docker', ['rm', '--force', CONTAINER], { stdio: 'ignore' });
  if (docker.startedHere) spawnSync('bash', ['tools/image/dockerd.sh', 'stop'], { cwd: REPO_ROOT, stdio: 'inherit' });
});

describe('service image', () => {
  test('runs as a non-root user and answers /readyz with 200', async (t) => {
    if (docker.skipReason) return t.skip(`SKIPPED: ${docker.skipReason}`);

    assert.equal(dockerCommand(['image', 'inspect', '--format', '{{.Config.User}}', image]), '10001:10001');
    assert.deepEqual(JSON.parse(dockerCommand(['image', 'inspect', '--format', '{{json .Config.Entrypoint}}', image])), ['node', 'dist/service/src/main.js']);

    dockerCommand([
      'run', '--detach', '--name', CONTAINER, '--network', 'host',
      '--env', 'SOMA_HOST=127.0.0.1', '--env', `SOMA_PORT=${port}`, '--env', 'SOMA_ROLE=all',
      '--env', `SOMA_POSTGRES_URL=${backends.postgresUrl}`,
      '--env', `SOMA_KAFKA_BROKERS=${backends.kafkaBrokers.join(',')}`,
      '--env', `SOMA_QDRANT_URL=${backends.qdrantUrl}`,
      '--env', `SOMA_KAFKA_TOPIC=${RUN_ID}.events`, '--env', `SOMA_KAFKA_DLQ_TOPIC=${RUN_ID}.events.dlq`,
      '--env', `SOMA_KV_GROUP=${RUN_ID}-kv`, '--env', `SOMA_VECTOR_GROUP=${RUN_ID}-vector`,
      '--env', `SOMA_DEFAULT_NAMESPACE=ns_${SUFFIX}`, '--env', `SOMA_API_TOKEN=${TOKEN}`,
      image,
    ]);
    containerStarted = true;

    const status = await waitFor('/readyz 200', READY_TIMEOUT_MS, async () => {
      const response = await fetch(`http://127.0.0.1:${port}/readyz`);
      return response.status === 200 ? response.status : undefined;
    });
    assert.equal(status, 200);
    assert.equal(dockerCommand(['exec', CONTAINER, 'node', '-e', 'process.stdout.write(`${process.getuid()}:${process.getgid()}`)']), '10001:10001');

    // PID 1 is the service itself. Its real, effective, saved and filesystem ids must all be non-root.
    const cmdline = dockerCommand(['exec', CONTAINER, 'cat', '/proc/1/cmdline']).split('\0').filter(Boolean);
    assert.deepEqual(cmdline, ['node', 'dist/service/src/main.js']);
    const ids = processIds(dockerCommand(['exec', CONTAINER, 'cat', '/proc/1/status']));
    assert.deepEqual(ids.uid, [10001, 10001, 10001, 10001]);
    assert.deepEqual(ids.gid, [10001, 10001, 10001, 10001]);
    assert.ok(ids.uid.every((id) => id !== 0), `the service runs as uid ${ids.uid.join('/')}`);
  });

  test('contains production dependencies only', (t) => {
    if (docker.skipReason) return t.skip(`SKIPPED: ${docker.skipReason}`);
    const installed = JSON.parse(
      dockerCommand(['run', '--rm', '--network', 'none', '--entrypoint', 'node', image, '-e', LIST_PACKAGES_SCRIPT]),
    ) as string[];
    const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };

    for (const name of ['typescript', '@playwright/test', 'tsx', '@types/node', 'zx']) {
      assert.ok(!installed.includes(name), `${name} is a devDependency but the image contains node_modules/${name}`);
    }
    // A devDependency that a runtime package also depends on (typescript is a peer of
    // @qdrant/js-client-rest) is not marked dev in the lock file, so the list above names those.
    for (const name of Object.keys(manifest.devDependencies)) {
      if (lock.packages[`node_modules/${name}`]?.dev !== true) continue;
      assert.ok(!installed.includes(name), `devDependency ${name} is in the image`);
    }
    for (const name of Object.keys(manifest.dependencies)) {
      assert.ok(installed.includes(name), `runtime dependency ${name} is missing from the image`);
    }
    const devOnly = installed.filter((name) => lock.packages[`node_modules/${name}`]?.dev === true);
    assert.deepEqual(devOnly, [], 'packages that package-lock.json marks dev-only');
    const unknown = installed.filter((name) => lock.packages[`node_modules/${name}`] === undefined);
    assert.deepEqual(unknown, [], 'packages in the image that package-lock.json does not list');
  });

  test('stores an item that reaches Postgres and Qdrant', async (t) => {
    if (docker.skipReason) return t.skip(`SKIPPED: ${docker.skipReason}`);
    const id = `${RUN_ID}-item-1`;
    const namespace = `ns_${SUFFIX}`;

    const response = await fetch(`http://127.0.0.1:${port}/store`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ id, text: 'stored from the service image test', run_id: RUN_ID }),
    });
    const body = (await response.json()) as { mode?: string; accepted?: number; ids?: string[] };
    assert.equal(response.status, 202, JSON.stringify(body));
    assert.equal(body.mode, 'evented');
    assert.deepEqual(body.ids, [id]);

    const client = new pg.Client({ connectionString: backends.postgresUrl });
    await client.connect();
    try {
      const row = await waitFor('the kv_store row', STORE_TIMEOUT_MS, async () => {
        const result = await client.query('select id, namespace, run_id from public.kv_store where id = $1', [id]);
        return result.rows[0] as { id: string; namespace: string; run_id: string } | undefined;
      });
      assert.deepEqual(row, { id, namespace, run_id: RUN_ID });
    } finally {
      await client.end();
    }

    const count = await waitFor('the Qdrant point', STORE_TIMEOUT_MS, async () => {
      const reply = await fetch(`${backends.qdrantUrl}/collections/${namespace}/points/count`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ exact: true, filter: { must: [{ key: 'run_id', match: { value: RUN_ID } }] } }),
      });
      if (!reply.ok) return undefined;
      const result = ((await reply.json()) as { result: { count: number } }).result.count;
      return result > 0 ? result : undefined;
    });
    assert.equal(count, 1);
  });

  test('reports healthy through its HEALTHCHECK', async (t) => {
    if (docker.skipReason) return t.skip(`SKIPPED: ${docker.skipReason}`);
    const health = await waitFor('Docker health status "healthy"', HEALTHY_TIMEOUT_MS, async () => {
      const state = dockerCommand(['inspect', '--format', '{{.State.Health.Status}}', CONTAINER]);
      return state === 'healthy' ? state : undefined;
    });
    assert.equal(health, 'healthy');
  });
});
