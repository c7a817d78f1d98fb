/**
 * Profiles the service's processes under benchmark load. It starts the
 * pipeline with `node --cpu-prof` and sends /store_bulk chunks of 100 from 8
 * connections for --seconds (default 8). Then it waits until both stores hold
 * every item, stops the processes (which writes their .cpuprofile files) and
 * prints each process's functions by self time, as shares of the samples in
 * which the main thread was busy. The profiles cover the whole process life,
 * start-up included; the threads of the tsx loader are left out.
 *
 *   npx tsx bench/profile.ts [--seconds 8] [--concurrency 8] [--top 15]
 *
 * Backends as in `npm run bench`: SOMA_TEST_BACKENDS, else the local target's
 * in .soma/bench (which must be running: `soma-harness up --target local
 * --backends-only --state-dir .soma/bench`). Profiles stay in .soma/profiles/.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startServiceStack, type BackendAddresses } from '../harness/src/load/service-stack.js';
import { readState } from '../harness/src/targets/local/state.js';
import { BACKENDS_ENV, parseBackends } from '../test/support/backends.js';
import { openStores, waitUntilConsistent } from './consistency.js';
import { runClosedLoop } from './load-generator.js';
import { sampleProcessTrees, coresBetween } from './process-cpu.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
}

const ROOT_DIR = resolve(import.meta.dirname, '..');

function backendsFromEnvironment(): BackendAddresses {
  const fromTests = process.env[BACKENDS_ENV];
  if (fromTests) return parseBackends(fromTests);
  const { postgres, kafka, qdrant } = readState(join(ROOT_DIR, '.soma', 'bench')).components;
  if (!postgres || !kafka || !qdrant) throw new Error('no backends: set SOMA_TEST_BACKENDS or run `soma-harness up --target local --backends-only --state-dir .soma/bench`');
  return { postgresUrl: postgres.address, kafkaBrokers: [kafka.address], qdrantUrl: qdrant.address };
}

/** Sums self time by function (name, file and line) in milliseconds, largest first, with shares of the busy (not idle) samples. */
export function selfTimes(profile: CpuProfile): { name: string; ms: number; share: number }[] {
  const intervalMs = (profile.endTime - profile.startTime) / 1000 / Math.max(1, profile.samples.length);
  const counts = new Map<number, number>();
  for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
  const byName = new Map<string, number>();
  let busy = 0;
  for (const node of profile.nodes) {
    const hits = counts.get(node.id) ?? 0;
    if (hits === 0 || node.callFrame.functionName === '(idle)') continue;
    busy += hits;
    const file = node.callFrame.url.replace(/^file:\/\//, '').replace(`${ROOT_DIR}/`, '');
    const name = `${node.callFrame.functionName || '(anonymous)'} ${file}:${node.callFrame.lineNumber + 1}`;
    byName.set(name, (byName.get(name) ?? 0) + hits);
  }
  return [...byName.entries()]
    .map(([name, hits]) => ({ name, ms: Math.round(hits * intervalMs), share: hits / Math.max(1, busy) }))
    .sort((a, b) => b.ms - a.ms);
}

/** Names of Node.js profile files: CPU.<date>.<time>.<pid>.<thread id>.<sequence>.cpuprofile; thread 0 is the main thread. */
const PROFILE_FILE = /^CPU\.\d+\.\d+\.(\d+)\.(\d+)\.\d+\.cpuprofile$/;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { seconds: { type: 'string' }, concurrency: { type: 'string' }, top: { type: 'string' } } });
  const seconds = Number(values.seconds ?? 8);
  const concurrency = Number(values.concurrency ?? 8);
  const top = Number(values.top ?? 15);
  const backends = backendsFromEnvironment();
  const name = `profile-${Date.now().toString(36)}`;
  const profileDir = join(ROOT_DIR, '.soma', 'profiles', name);

  const stack = await startServiceStack({
    backends,
    rootDir: ROOT_DIR,
    logDir: profileDir,
    name,
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`],
  });
  const roleByPid = new Map(stack.processes.map((info) => [String(info.pid), info.role]));
  const stores = openStores(backends.postgresUrl, backends.qdrantUrl, stack.endpoints.namespace);
  try {
    const roots = Object.fromEntries(stack.processes.map((info) => [info.role, info.pid]));
    const before = sampleProcessTrees(roots);
    const outcome = await runClosedLoop({ apiUrl: stack.endpoints.apiUrl, namespace: stack.endpoints.namespace }, `${name}-run`, 100, concurrency, seconds * 1000);
    const cores = coresBetween(before, sampleProcessTrees(roots), outcome.endMs - outcome.startMs);
    const consistentAt = await waitUntilConsistent(stores, `${name}-run`, outcome.acknowledgedItems, 120_000);
    const rate = Math.round(outcome.acknowledgedItems / ((outcome.endMs - outcome.startMs) / 1000));
    const consistent = consistentAt === undefined ? 0 : Math.round(outcome.acknowledgedItems / ((consistentAt - outcome.startMs) / 1000));
    process.stdout.write(`load: ${rate} acknowledged items/s, ${consistent} consistent items/s; cores during the load: ${JSON.stringify(cores)}\n`);
  } finally {
    await stack.stop();
    await stores.close();
  }

  for (const file of readdirSync(profileDir)) {
    const [, pid, thread] = PROFILE_FILE.exec(file) ?? [];
    if (pid === undefined || thread !== '0') continue;
    const profile = JSON.parse(readFileSync(join(profileDir, file), 'utf8')) as CpuProfile;
    process.stdout.write(`\n${roleByPid.get(pid) ?? 'pid ' + pid} (${file})\n`);
    for (const entry of selfTimes(profile).slice(0, top)) {
      process.stdout.write(`  ${(entry.share * 100).toFixed(1).padStart(5)}%  ${String(entry.ms).padStart(6)} ms  ${entry.name}\n`);
    }
  }
  process.stdout.write(`\nprofiles: ${profileDir}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
