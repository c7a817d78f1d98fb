/**
 * `npm run bench`: the ingest benchmark on the local target.
 *
 *   npm run bench                      3 runs, chunk sizes 1, 10, 100 and 500 (about 10 minutes on 2 cores)
 *   npm run bench -- --quick           1 short run for CI (seconds)
 *   npm run bench -- --runs 5 --chunk-sizes 100 --out DIR --state-dir DIR
 *
 * Backends: SOMA_TEST_BACKENDS (as `npm test` sets it) when present, else the
 * local target's backends in --state-dir (default .soma/bench), started if
 * needed and stopped again at the end when this command started them. Each
 * run starts the service's api, kv-writer and vector-indexer processes with a
 * topic, groups and namespace of its own, and deletes its data afterwards
 * (also on SIGINT or SIGTERM, which exit 130).
 *
 * Writes bench/results/<time>-<mode>.json (schemas/bench.schema.json) and an
 * HTML page beside it. Exit codes: 0 written (a missed target is reported,
 * not failed), 1 the result is not valid against its schema, 2 the
 * environment is missing something.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { HarnessError } from '../harness/src/exit-codes.js';
import { startServiceStack, type BackendAddresses } from '../harness/src/load/service-stack.js';
import { createProgressWriter } from '../harness/src/progress.js';
import { createLocalTarget } from '../harness/src/targets/local/index.js';
import { BACKENDS_ENV, parseBackends } from '../test/support/backends.js';
import { measureBackends } from './backends-alone.js';
import { deleteRunData, openStores } from './consistency.js';
import { renderBenchHtml } from './html.js';
import { LATENCY_CHUNK_SIZE, measureFixedRate, sweepChunkSize, type PipelineRunSettings } from './pipeline.js';
import { BENCH_FORMAT_VERSION, computeFigures, judgeTargets, validateBenchResult, type BenchResult, type BenchRun } from './results.js';

const ROOT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DEFAULT_STATE_DIR = join('.soma', 'bench');

interface BenchOptions {
  mode: 'full' | 'quick';
  runs: number;
  backendItems: number;
  outDir: string;
  stateDir: string;
  pipeline: PipelineRunSettings;
}

const FULL: Omit<BenchOptions, 'outDir' | 'stateDir'> = {
  mode: 'full',
  runs: 3,
  backendItems: 30_000,
  pipeline: { chunkSizes: [1, 10, 100, 500], concurrencies: [1, 2, 4, 8, 16, 32, 64], stepMs: 5000, fixedRateMs: 10_000, consistencyTimeoutMs: 120_000 },
};

const QUICK: Omit<BenchOptions, 'outDir' | 'stateDir'> = {
  mode: 'quick',
  runs: 1,
  backendItems: 1000,
  pipeline: { chunkSizes: [10, 100], concurrencies: [1, 4], stepMs: 1000, fixedRateMs: 1500, consistencyTimeoutMs: 30_000 },
};

function readOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean' },
      runs: { type: 'string' },
      'chunk-sizes': { type: 'string' },
      out: { type: 'string' },
      'state-dir': { type: 'string' },
    },
  });
  const base = values.quick ? QUICK : FULL;
  const runs = values.runs === undefined ? base.runs : Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new HarnessError(`--runs ${values.runs} is not a whole number of runs`, { exitCode: 2, hint: 'pass e.g. --runs 3' });
  const chunkSizes = values['chunk-sizes'] === undefined ? base.pipeline.chunkSizes : values['chunk-sizes'].split(',').map(Number);
  if (chunkSizes.some((size) => !Number.isInteger(size) || size < 1 || size > 1000)) {
    throw new HarnessError(`--chunk-sizes ${values['chunk-sizes']} is not a list of chunk sizes`, { exitCode: 2, hint: 'pass sizes from 1 to 1000, e.g. --chunk-sizes 10,100' });
  }
  return {
    ...base,
    pipeline: { ...base.pipeline, chunkSizes },
    runs,
    outDir: resolve(values.out ?? join(ROOT_DIR, 'bench', 'results')),
    stateDir: values['state-dir'] ?? DEFAULT_STATE_DIR,
  };
}

function gitSha(): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT_DIR, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

function log(text: string): void {
  process.stderr.write(`bench: ${text}\n`);
}

interface Backends {
  addresses: BackendAddresses;
  pids: Record<string, number>;
  release(): Promise<void>;
}

/** Returns the backends from SOMA_TEST_BACKENDS, or else those of the local target in `stateDir`. */
async function acquireBackends(stateDir: string): Promise<Backends> {
  const fromTests = process.env[BACKENDS_ENV];
  if (fromTests) return { addresses: parseBackends(fromTests), pids: {}, release: async () => undefined };

  const target = createLocalTarget({
    rootDir: ROOT_DIR,
    env: process.env,
    progress: createProgressWriter({ stream: process.stderr }),
    stateDir: resolve(ROOT_DIR, stateDir),
    backendsOnly: true,
  });
  const runningBefore = (await target.status()).filter((row) => row.state === 'running').length;
  const endpoints = await target.up();
  const pids: Record<string, number> = {};
  for (const row of await target.status()) if (row.pid) pids[row.name] = row.pid;
  return {
    addresses: { postgresUrl: endpoints.postgresUrl, kafkaBrokers: endpoints.kafkaBrokers, qdrantUrl: endpoints.qdrantUrl },
    pids,
    release: async () => {
      if (runningBefore === 0) await target.down();
    },
  };
}

/**
 * Clean-up steps of the work in progress, run in reverse order when SIGINT or
 * SIGTERM interrupts the benchmark, so an interrupted run leaves no service
 * processes and no rows or collection behind in the backends it reuses next time.
 */
const interruptCleanups: (() => Promise<void>)[] = [];

function onInterrupt(cleanup: () => Promise<void>): () => void {
  interruptCleanups.push(cleanup);
  return () => {
    const index = interruptCleanups.lastIndexOf(cleanup);
    if (index !== -1) interruptCleanups.splice(index, 1);
  };
}

function handleInterrupts(): void {
  const interrupted = async (signal: string): Promise<void> => {
    log(`${signal}: interrupted; stopping the service and deleting this run's data (a second signal exits at once)`);
    process.once('SIGINT', () => process.exit(130));
    process.once('SIGTERM', () => process.exit(130));
    for (const cleanup of interruptCleanups.reverse()) {
      await cleanup().catch((error: unknown) => log(`clean-up after ${signal} failed: ${String(error)}`));
    }
    process.exit(130);
  };
  process.once('SIGINT', () => void interrupted('SIGINT'));
  process.once('SIGTERM', () => void interrupted('SIGTERM'));
}

async function benchRun(options: BenchOptions, backends: Backends, run: number, stamp: string): Promise<BenchRun> {
  const name = `${stamp}-r${run}`;
  const stack = await startServiceStack({
    backends: backends.addresses,
    rootDir: ROOT_DIR,
    logDir: join(ROOT_DIR, '.soma', 'bench-logs', name),
    name: `bench-${name}`,
  });
  const namespace = stack.endpoints.namespace;
  const stores = openStores(backends.addresses.postgresUrl, backends.addresses.qdrantUrl, namespace);
  const forgetCleanup = onInterrupt(async () => {
    await stack.stop();
    await deleteRunData(backends.addresses, namespace);
  });
  try {
    const context = { stack, stores, namespace, backendPids: backends.pids, onStep: (text: string) => log(`run ${run}: ${text}`) };
    const pipeline = [];
    for (const chunkSize of options.pipeline.chunkSizes) pipeline.push(await sweepChunkSize(context, options.pipeline, chunkSize));
    const chunk100 = pipeline.find((sweep) => sweep.chunkSize === LATENCY_CHUNK_SIZE) ?? pipeline.at(-1);
    // Half of the rate the pipeline sustains end to end, so lag does not build up while latency and time to consistency are measured.
    const fixedRate = await measureFixedRate(context, options.pipeline, Math.max(100, (chunk100?.maxConsistentItemsPerSecond ?? 200) / 2));
    await stack.stop();
    const backendRates = await measureBackends(backends.addresses, `${stamp.replace(/[^a-z0-9]/g, '')}r${run}`, options.backendItems);
    log(`run ${run}: backends alone: Postgres ${backendRates.postgresUpsertItemsPerSecond}/s, Kafka ${backendRates.kafkaProduceItemsPerSecond}/s, Qdrant ${backendRates.qdrantUpsertItemsPerSecond}/s`);
    return { run, namespace, pipeline, fixedRate, backends: backendRates };
  } finally {
    forgetCleanup();
    await stack.stop();
    await stores.close();
    await deleteRunData(backends.addresses, namespace).catch((error: unknown) => log(`could not delete the data of ${namespace}: ${String(error)}`));
  }
}

function machineInfo(loadBefore: number): BenchResult['machine'] {
  const [first] = cpus();
  return {
    cpus: cpus().length,
    cpuModel: first?.model ?? 'unknown',
    memoryMb: Math.round(totalmem() / 1024 / 1024),
    platform: `${process.platform} ${process.arch}`,
    node: process.version,
    loadAverageBefore: Math.round(loadBefore * 100) / 100,
    loadAverageAfter: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
}

function printSummary(result: BenchResult, jsonPath: string, stdout: NodeJS.WritableStream): void {
  const lines = [
    ...Object.entries(result.figures).map(([name, value]) => `${name.padEnd(40)} ${value}`),
    '',
    ...result.targets.map((target) => `${target.met ? 'met   ' : 'MISSED'} ${target.name}: ${target.measured ?? 'not measured'} (target ${target.comparator} ${target.limit})`),
    '',
    `results: ${relative(process.cwd(), jsonPath)}`,
    `page:    ${relative(process.cwd(), jsonPath.replace(/\.json$/, '.html'))}`,
  ];
  stdout.write(`${lines.join('\n')}\n`);
}

/** Runs the benchmark, writes its summary to `stdout` and returns the exit code. */
export async function main(argv: string[], stdout: NodeJS.WritableStream = process.stdout): Promise<number> {
  const options = readOptions(argv);
  const startedAt = new Date();
  const loadBefore = loadavg()[0] ?? 0;
  const stamp = startedAt.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'z').toLowerCase();
  log(`${options.mode} mode, ${options.runs} run(s), load average ${loadBefore.toFixed(2)}`);

  handleInterrupts();
  const backends = await acquireBackends(options.stateDir);
  const forgetRelease = onInterrupt(() => backends.release());
  const runs: BenchRun[] = [];
  try {
    for (let run = 1; run <= options.runs; run += 1) runs.push(await benchRun(options, backends, run, stamp));
  } finally {
    forgetRelease();
    await backends.release();
  }

  const figures = computeFigures(runs);
  const endedAt = new Date();
  const result: BenchResult = {
    formatVersion: BENCH_FORMAT_VERSION,
    tool: 'soma-bench',
    mode: options.mode,
    startedAt: startedAt.toISOString(),
    endedAt: endedAt.toISOString(),
    durationMs: endedAt.getTime() - startedAt.getTime(),
    command: ['npm run bench', ...(argv.length > 0 ? ['--', ...argv] : [])].join(' '),
    gitSha: gitSha(),
    machine: machineInfo(loadBefore),
    settings: { ...options.pipeline, runs: options.runs, backendItems: options.backendItems },
    figures,
    targets: judgeTargets(figures),
    runs,
  };

  mkdirSync(options.outDir, { recursive: true });
  const jsonPath = join(options.outDir, `${stamp}-${options.mode}.json`);
  writeFileSync(jsonPath, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(jsonPath.replace(/\.json$/, '.html'), renderBenchHtml(result));
  const problems = validateBenchResult(result, ROOT_DIR);
  printSummary(result, jsonPath, stdout);
  if (problems.length > 0) {
    process.stderr.write(`error: ${jsonPath} is not valid against schemas/bench.schema.json:\n${problems.join('\n')}\n`);
    return 1;
  }
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof HarnessError)) throw error;
    process.stderr.write(`error: ${error.message}\n${error.hint ? `hint: ${error.hint}\n` : ''}`);
    process.exitCode = error.exitCode;
  }
}
