/**
 * Produces real reports for the Playwright specs. It starts the service (api
 * and both consumers in one process, on its own topic, groups and namespace)
 * on the test backends. Then it runs the harness against that service as an
 * external target, once with the default suite (expected to pass) and once
 * with the phantom fault suite (expected to exit 3), and stops the service.
 * The run directories reach the specs through SOMA_E2E_PASSED_RUN and
 * SOMA_E2E_FAILED_RUN.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { getBackends } from '../support/backends.js';

const ROOT_DIR = resolve(import.meta.dirname, '..', '..');
export const REPORTS_DIR = join(ROOT_DIR, 'test-results', 'e2e-reports');
const READY_TIMEOUT_MS = 60_000;
const RUN_TIMEOUT_MS = 180_000;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolvePromise) => server.listen(0, '127.0.0.1', resolvePromise));
  const address = server.address();
  await new Promise<void>((resolvePromise) => server.close(() => resolvePromise()));
  if (address === null || typeof address === 'string') throw new Error('no port from a listening socket');
  return address.port;
}

async function waitForReady(url: string, service: ChildProcess, logPath: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (service.exitCode !== null) throw new Error(`the service exited with ${service.exitCode} before it was ready; see ${logPath}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolvePromise) => setTimeout(resolvePromise, 250));
  }
  throw new Error(`the service did not answer 200 on ${url} within ${READY_TIMEOUT_MS} ms; see ${logPath}`);
}

/** Runs the harness CLI and resolves with its exit code and standard output. */
function runHarness(args: string[], logPath: string): Promise<{ code: number; stdout: string }> {
  return new Promise((resolvePromise, rejectPromise) => {
    const child = spawn(process.execPath, [join(ROOT_DIR, 'harness', 'bin', 'soma-harness.mjs'), ...args], {
      cwd: ROOT_DIR,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const log = createWriteStream(logPath, { flags: 'a' });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      log.write(chunk);
    });
    child.stderr.pipe(log);
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      rejectPromise(new Error(`soma-harness ${args.join(' ')} did not finish within ${RUN_TIMEOUT_MS} ms; see ${logPath}`));
    }, RUN_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? 1, stdout });
    });
  });
}

function runDirOf(stdout: string): string {
  const match = /^report: {2}(.+)\/index\.html$/m.exec(stdout);
  if (!match?.[1]) throw new Error(`the harness printed no report path:\n${stdout}`);
  return match[1];
}

async function stopService(service: ChildProcess): Promise<void> {
  if (service.exitCode !== null) return;
  const exited = new Promise<void>((resolvePromise) => service.once('exit', () => resolvePromise()));
  service.kill('SIGTERM');
  const timer = setTimeout(() => service.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

export default async function globalSetup(): Promise<void> {
  const backends = await getBackends();
  rmSync(REPORTS_DIR, { recursive: true, force: true });
  mkdirSync(REPORTS_DIR, { recursive: true });
  const suffix = randomBytes(3).toString('hex');
  const topic = `e2e-report-${suffix}`;
  const groups = [`e2e-report-kv-${suffix}`, `e2e-report-vector-${suffix}`];
  const namespace = `e2e_report_${suffix}`;
  const port = await freePort();
  const serviceLog = join(REPORTS_DIR, 'service.log');
  const harnessLog = join(REPORTS_DIR, 'harness.log');

  const service = spawn(process.execPath, ['--import', 'tsx', join(ROOT_DIR, 'service', 'src', 'main.ts')], {
    cwd: ROOT_DIR,
    env: {
      ...process.env,
      SOMA_ROLE: 'all',
      SOMA_HOST: '127.0.0.1',
      SOMA_PORT: String(port),
      SOMA_KAFKA_BROKERS: backends.kafkaBrokers.join(','),
      SOMA_KAFKA_TOPIC: topic,
      SOMA_KAFKA_DLQ_TOPIC: `${topic}.dlq`,
      SOMA_KV_GROUP: groups[0],
      SOMA_VECTOR_GROUP: groups[1],
      SOMA_POSTGRES_URL: backends.postgresUrl,
      SOMA_QDRANT_URL: backends.qdrantUrl,
      SOMA_DEFAULT_NAMESPACE: namespace,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(serviceLog);
  service.stdout?.pipe(log);
  service.stderr?.pipe(log);

  try {
    const apiUrl = `http://127.0.0.1:${port}`;
    await waitForReady(`${apiUrl}/readyz`, service, serviceLog);
    const targetArgs = [
      '--target', 'external',
      '--api-url', apiUrl,
      '--postgres-url', backends.postgresUrl,
      '--qdrant-url', backends.qdrantUrl,
      '--kafka-brokers', backends.kafkaBrokers.join(','),
      '--topic', topic,
      '--consumer-groups', groups.join(','),
      '--namespace', namespace,
      '--reports-dir', REPORTS_DIR,
    ];

    // The one service process runs the API and both consumers, so its /metrics serves as both sources.
    const metricsUrls = `api=${apiUrl}/metrics,consumers=${apiUrl}/metrics`;
    const passed = await runHarness(['run', 'default', ...targetArgs, '--metrics-urls', metricsUrls], harnessLog);
    if (passed.code !== 0) throw new Error(`the default suite exited with ${passed.code}, expected 0:\n${passed.stdout}`);
    const failed = await runHarness(['run', 'fault-phantom', ...targetArgs], harnessLog);
    if (failed.code !== 3) throw new Error(`the phantom suite exited with ${failed.code}, expected 3:\n${failed.stdout}`);

    process.env.SOMA_E2E_REPORTS_DIR = REPORTS_DIR;
    process.env.SOMA_E2E_PASSED_RUN = runDirOf(passed.stdout);
    process.env.SOMA_E2E_FAILED_RUN = runDirOf(failed.stdout);
  } finally {
    await stopService(service);
  }
}
