/**
 * Measures the CPU that the whole evented pipeline spends per item, for
 * before/after comparisons of service changes. It starts the service's api,
 * kv-writer and vector-indexer from --source (default: this checkout), warms
 * them up for 2 s, then sends /store_bulk chunks either in a closed loop
 * (--concurrency connections) or at a fixed --rate, for --seconds. CPU of
 * every process (service, backends, this harness) is read from /proc from the
 * start of the load until both stores hold every acknowledged item, so the
 * consumers' drain counts too. It prints one JSON line and appends it to --out
 * when given.
 *
 *   npx tsx bench/cpu-per-item.ts [--source DIR] [--label NAME] [--seconds 8]
 *     [--concurrency 8] [--chunk-size 100] [--rate ITEMS_PER_SECOND] [--out FILE]
 *
 * To compare with an older commit, export it next to this checkout and
 * alternate the two, so both see the same machine load:
 *
 *   mkdir /tmp/before && git archive COMMIT | tar -x -C /tmp/before
 *   ln -s "$PWD/node_modules" /tmp/before/node_modules
 *   npx tsx bench/cpu-per-item.ts --source /tmp/before --label before --out ab.jsonl
 *   npx tsx bench/cpu-per-item.ts --label after --out ab.jsonl
 *   npx tsx bench/cpu-per-item.ts --summarize ab.jsonl
 *
 * --summarize reads such a file and prints the median CPU per item of every
 * process and the range of the total, per label. It needs no backends.
 *
 * Backends as for bench/profile.ts: SOMA_TEST_BACKENDS, else the running local
 * target in .soma/bench, whose process ids are read from its state file.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startServiceStack, type BackendAddresses } from '../harness/src/load/service-stack.js';
import { readState } from '../harness/src/targets/local/state.js';
import { BACKENDS_ENV, parseBackends } from '../test/support/backends.js';
import { deleteRunData, openStores, trackMarkers, waitUntilConsistent, type StoreReaders } from './consistency.js';
import { latencyFigures, runClosedLoop, runFixedRate, type BenchTarget, type LoadOutcome } from './load-generator.js';
import { sampleProcessTrees } from './process-cpu.js';
import { median } from './results.js';

const ROOT_DIR = resolve(import.meta.dirname, '..');
const WARM_UP_MS = 2000;
const CONSISTENCY_TIMEOUT_MS = 120_000;

interface Backends {
  addresses: BackendAddresses;
  pids: Record<string, number>;
}

function backendsFromEnvironment(): Backends {
  const fromTests = process.env[BACKENDS_ENV];
  if (fromTests) return { addresses: parseBackends(fromTests), pids: {} };
  const { postgres, kafka, qdrant } = readState(join(ROOT_DIR, '.soma', 'bench')).components;
  if (!postgres || !kafka || !qdrant) throw new Error('no backends: set SOMA_TEST_BACKENDS or run `soma-harness up --target local --backends-only --state-dir .soma/bench`');
  const pids: Record<string, number> = {};
  for (const component of [postgres, kafka, qdrant]) if (component.pid) pids[component.name] = component.pid;
  return { addresses: { postgresUrl: postgres.address, kafkaBrokers: [kafka.address], qdrantUrl: qdrant.address }, pids };
}

/** Computes the CPU microseconds per acknowledged item of each process between two samples, and their sum without the harness. */
function cpuPerItem(before: Record<string, number>, after: Record<string, number>, items: number): { total: number; byProcess: Record<string, number> } {
  const byProcess: Record<string, number> = {};
  let total = 0;
  for (const name of Object.keys(after)) {
    const micros = (((after[name] ?? 0) - (before[name] ?? 0)) * 1000) / Math.max(1, items);
    byProcess[name] = Math.round(micros);
    if (name !== 'harness') total += micros;
  }
  return { total: Math.round(total), byProcess };
}

interface LoadSettings {
  runId: string;
  seconds: number;
  concurrency: number;
  chunkSize: number;
  rate: number | undefined;
}

async function measure(target: BenchTarget, stores: StoreReaders, roots: Record<string, number>, settings: LoadSettings): Promise<Record<string, unknown>> {
  const { runId, chunkSize, rate } = settings;
  const markers = rate === undefined ? undefined : trackMarkers(stores);
  const before = sampleProcessTrees(roots);
  const outcome: LoadOutcome =
    rate === undefined
      ? await runClosedLoop(target, runId, chunkSize, settings.concurrency, settings.seconds * 1000)
      : await runFixedRate(target, runId, chunkSize, rate, settings.seconds * 1000, (id, atMs) => markers?.add(id, atMs));
  const timeToConsistency = await markers?.stop(CONSISTENCY_TIMEOUT_MS);
  const consistentAt = await waitUntilConsistent(stores, runId, outcome.acknowledgedItems, CONSISTENCY_TIMEOUT_MS, 50);
  const cpu = cpuPerItem(before, sampleProcessTrees(roots), outcome.acknowledgedItems);

  const loadSeconds = (outcome.endMs - outcome.startMs) / 1000;
  const latency = latencyFigures(outcome.latency);
  return {
    mode: rate === undefined ? 'closed' : 'fixed',
    ...(rate === undefined ? { concurrency: settings.concurrency } : { rate }),
    items: outcome.acknowledgedItems,
    failedRequests: outcome.failedRequests,
    acknowledgedItemsPerSecond: Math.round(outcome.acknowledgedItems / loadSeconds),
    consistentItemsPerSecond: consistentAt === undefined ? 0 : Math.round(outcome.acknowledgedItems / ((consistentAt - outcome.startMs) / 1000)),
    latencyP50Ms: latency.p50Ms,
    latencyP99Ms: latency.p99Ms,
    ...(timeToConsistency === undefined ? {} : { timeToConsistencyP50Ms: timeToConsistency.p50Ms, timeToConsistencyP99Ms: timeToConsistency.p99Ms }),
    cpuMicrosPerItem: cpu.total,
    cpuMicrosPerItemByProcess: cpu.byProcess,
  };
}

export interface LabelSummary {
  label: string;
  runs: number;
  /** CPU microseconds per item over all processes except the harness: median, minimum and maximum of the runs. */
  total: { median: number; min: number; max: number };
  /** Median CPU microseconds per item of each process, the harness included. */
  byProcess: Record<string, number>;
  consistentItemsPerSecond: number;
  /** Lowest 1-minute load average at a start and highest at an end. */
  loadAverage: [number, number];
}

interface RunLine {
  label: string;
  cpuMicrosPerItem: number;
  cpuMicrosPerItemByProcess: Record<string, number>;
  consistentItemsPerSecond: number;
  loadAverage: [number, number];
}

/** Groups the JSON lines that --out collects by label, in order of first appearance, and computes the medians of each label's runs. */
export function summarizeRuns(text: string): LabelSummary[] {
  const byLabel = new Map<string, RunLine[]>();
  for (const [index, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    let run: RunLine;
    try {
      run = JSON.parse(line) as RunLine;
    } catch (error) {
      throw new Error(`line ${index + 1} is not valid JSON (${String(error)}). Pass a file that --out of bench/cpu-per-item.ts wrote.`);
    }
    if (typeof run.label !== 'string' || typeof run.cpuMicrosPerItem !== 'number') {
      throw new Error(`line ${index + 1} is not a result of bench/cpu-per-item.ts, because it has no label or cpuMicrosPerItem. Pass a file that --out wrote.`);
    }
    byLabel.set(run.label, [...(byLabel.get(run.label) ?? []), run]);
  }
  return [...byLabel].map(([label, runs]) => {
    const totals = runs.map((run) => run.cpuMicrosPerItem);
    const names = [...new Set(runs.flatMap((run) => Object.keys(run.cpuMicrosPerItemByProcess)))];
    return {
      label,
      runs: runs.length,
      total: { median: median(totals), min: Math.min(...totals), max: Math.max(...totals) },
      byProcess: Object.fromEntries(names.map((name) => [name, median(runs.map((run) => run.cpuMicrosPerItemByProcess[name] ?? 0))])),
      consistentItemsPerSecond: median(runs.map((run) => run.consistentItemsPerSecond)),
      loadAverage: [Math.min(...runs.map((run) => run.loadAverage[0])), Math.max(...runs.map((run) => run.loadAverage[1]))],
    };
  });
}

function printSummary(summaries: readonly LabelSummary[]): void {
  const names = [...new Set(summaries.flatMap((summary) => Object.keys(summary.byProcess)))];
  const header = ['label', 'runs', 'total (min-max)', ...names, 'consistent/s', 'load average'];
  const rows = summaries.map((summary) => [
    summary.label,
    String(summary.runs),
    `${summary.total.median} (${summary.total.min}-${summary.total.max})`,
    ...names.map((name) => String(summary.byProcess[name] ?? '-')),
    String(summary.consistentItemsPerSecond),
    `${summary.loadAverage[0]}-${summary.loadAverage[1]}`,
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  for (const row of [header, ...rows]) process.stdout.write(`${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd()}\n`);
  process.stdout.write('CPU microseconds per acknowledged item, medians; total leaves out the harness.\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      source: { type: 'string' },
      label: { type: 'string' },
      seconds: { type: 'string' },
      concurrency: { type: 'string' },
      'chunk-size': { type: 'string' },
      rate: { type: 'string' },
      out: { type: 'string' },
      summarize: { type: 'string' },
    },
  });
  if (values.summarize !== undefined) {
    printSummary(summarizeRuns(readFileSync(values.summarize, 'utf8')));
    return;
  }
  const source = resolve(values.source ?? ROOT_DIR);
  const label = values.label ?? source;
  const backends = backendsFromEnvironment();
  const name = `cpu-${Date.now().toString(36)}`;
  const loadBefore = loadavg()[0] ?? 0;

  const stack = await startServiceStack({ backends: backends.addresses, rootDir: source, logDir: join(ROOT_DIR, '.soma', 'bench-logs', name), name });
  const namespace = stack.endpoints.namespace;
  const stores = openStores(backends.addresses.postgresUrl, backends.addresses.qdrantUrl, namespace);
  const roots: Record<string, number> = { ...backends.pids, harness: process.pid };
  for (const info of stack.processes) roots[info.role] = info.pid;
  const target: BenchTarget = { apiUrl: stack.endpoints.apiUrl, namespace };
  const settings: LoadSettings = {
    runId: `${name}-run`,
    seconds: Number(values.seconds ?? 8),
    concurrency: Number(values.concurrency ?? 8),
    chunkSize: Number(values['chunk-size'] ?? 100),
    rate: values.rate === undefined ? undefined : Number(values.rate),
  };

  let result: Record<string, unknown>;
  try {
    const warmUp = await runClosedLoop(target, `${name}-warm-up`, settings.chunkSize, settings.concurrency, WARM_UP_MS);
    await waitUntilConsistent(stores, `${name}-warm-up`, warmUp.acknowledgedItems, CONSISTENCY_TIMEOUT_MS);
    result = { label, ...(await measure(target, stores, roots, settings)) };
  } finally {
    await stack.stop();
    await stores.close();
    await deleteRunData(backends.addresses, namespace);
  }

  const line = JSON.stringify({ ...result, loadAverage: [Math.round(loadBefore * 100) / 100, Math.round((loadavg()[0] ?? 0) * 100) / 100] });
  process.stdout.write(`${line}\n`);
  if (values.out) appendFileSync(values.out, `${line}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
