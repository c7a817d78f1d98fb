/**
 * `npm test`: type-checks, starts the local backends once (state dir
 * .soma/test), runs every *.test.ts file with node:test, then the Playwright
 * specs when a Playwright config exists, and always stops the backends. The
 * summary reports each step apart and counts every node:test and Playwright
 * test; the type check is a step, not a test. After a run in which every step
 * passed, the backends' data in .soma/test is deleted; after a failure it is
 * kept for inspection and the last line names its folder.
 *
 *   npm test                          all tests
 *   npm test -- path/a.test.ts ...    only these files (the type check still runs)
 *
 * Environment: SOMA_TEST_CONCURRENCY (test files run at once, default 2),
 * SOMA_TEST_SKIP_TYPECHECK=1 to skip the type check.
 * Exits 1 when the type check or any test failed, 2 when the backends did not start.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { HarnessError } from '../harness/src/exit-codes.js';
import { BACKENDS_ENV, createTestTarget, ROOT_DIR, type BackendEndpoints } from './support/backends.js';
import { describeCounts, formatSummary, readPlaywrightCounts, readTapCounts, type StepOutcome } from './support/test-summary.js';

const TEST_ROOTS = ['service', 'harness', 'test', 'bench'];
const SKIPPED_DIRS = new Set(['node_modules', 'dist', '.soma', '.git']);
const PLAYWRIGHT_CONFIGS = ['playwright.config.ts', 'playwright.config.js', 'playwright.config.mjs'];
const STATE_DIR = join('.soma', 'test');

function heading(text: string): void {
  process.stdout.write(`\n=== ${text}\n`);
}

/** Runs a command with inherited output and resolves with its exit code. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return new Promise((resolvePromise) => {
    const child = spawn(command, args, { cwd: ROOT_DIR, env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', (error) => {
      process.stderr.write(`failed to start ${command}: ${error.message}\n`);
      resolvePromise(127);
    });
    child.on('close', (code, signal) => resolvePromise(code ?? (signal ? 128 : 1)));
  });
}

/** Lists *.test.ts files under the test roots, sorted, skipping node_modules and build output. */
export function discoverTestFiles(rootDir: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) walk(join(dir, entry.name));
      } else if (entry.isFile() && entry.name.endsWith('.test.ts')) {
        found.push(relative(rootDir, join(dir, entry.name)));
      }
    }
  };
  for (const root of TEST_ROOTS) if (existsSync(join(rootDir, root))) walk(join(rootDir, root));
  return found.sort();
}

async function typecheck(): Promise<StepOutcome> {
  if (process.env.SOMA_TEST_SKIP_TYPECHECK === '1') return { step: 'typecheck', ok: true, detail: 'skipped (SOMA_TEST_SKIP_TYPECHECK=1)' };
  heading('typecheck: npx tsc -p tsconfig.json');
  const code = await run('npx', ['tsc', '-p', 'tsconfig.json']);
  return { step: 'typecheck', ok: code === 0, detail: code === 0 ? 'no errors' : `tsc exited with ${code}` };
}

async function nodeTests(files: string[], backends: BackendEndpoints, tapPath: string): Promise<StepOutcome> {
  const concurrency = process.env.SOMA_TEST_CONCURRENCY ?? '2';
  heading(`node:test: ${files.length} files, ${concurrency} at a time`);
  const code = await run(
    process.execPath,
    [
      '--import', 'tsx', '--test', `--test-concurrency=${concurrency}`,
      '--test-reporter=spec', '--test-reporter-destination=stdout',
      '--test-reporter=tap', `--test-reporter-destination=${tapPath}`,
      ...files,
    ],
    { ...process.env, [BACKENDS_ENV]: JSON.stringify(backends) },
  );
  const counts = readTapCounts(tapPath);
  const detail = counts ? describeCounts(counts) : `node --test exited with ${code}`;
  return { step: 'node:test', ok: code === 0, detail, counts };
}

/** Runs the Playwright specs with the list reporter on the terminal and the JSON reporter into `jsonPath`, for the counts. */
async function playwrightTests(backends: BackendEndpoints, jsonPath: string): Promise<StepOutcome | undefined> {
  const config = PLAYWRIGHT_CONFIGS.find((name) => existsSync(join(ROOT_DIR, name)));
  if (!config) return undefined;
  heading(`playwright: npx playwright test (${config})`);
  const code = await run('npx', ['playwright', 'test', '--reporter=list,json'], {
    ...process.env,
    [BACKENDS_ENV]: JSON.stringify(backends),
    PLAYWRIGHT_JSON_OUTPUT_FILE: jsonPath,
  });
  const counts = readPlaywrightCounts(jsonPath);
  if (!counts) return { step: 'playwright', ok: false, detail: `npx playwright test exited with ${code} and wrote no JSON report` };
  const errors = counts.errors.length > 0 ? `; ${counts.errors.join('; ')}` : '';
  const { passed, failed, skipped } = counts;
  return { step: 'playwright', ok: code === 0, detail: `${describeCounts(counts)}${errors}`, counts: { passed, failed, skipped } };
}

function printSummary(outcomes: StepOutcome[]): void {
  heading('summary');
  process.stdout.write(formatSummary(outcomes));
}

async function main(argv: string[]): Promise<number> {
  const files = argv.length > 0 ? argv.map((file) => relative(ROOT_DIR, resolve(file))) : discoverTestFiles(ROOT_DIR);
  const missing = files.filter((file) => !existsSync(join(ROOT_DIR, file)));
  if (missing.length > 0) {
    process.stderr.write(`error: test files not found: ${missing.join(', ')}\n`);
    return 2;
  }
  if (files.length === 0) {
    process.stderr.write(`error: no *.test.ts files under ${TEST_ROOTS.join(', ')}\n`);
    return 2;
  }

  // Ctrl-C reaches the test processes too; this process then skips the
  // remaining steps and still stops the backends.
  const interrupt = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`\nreceived ${signal}: stopping the test backends\n`);
    interrupt.abort(new Error(`interrupted by ${signal}`));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const outcomes: StepOutcome[] = [await typecheck()];
  const target = createTestTarget(STATE_DIR, { signal: interrupt.signal });
  let passedAll = false;
  const tapDir = mkdtempSync(join(tmpdir(), 'soma-test-'));
  try {
    heading(`backends: local target, state dir ${STATE_DIR}`);
    const endpoints = await target.up();
    const backends: BackendEndpoints = { postgresUrl: endpoints.postgresUrl, kafkaBrokers: endpoints.kafkaBrokers, qdrantUrl: endpoints.qdrantUrl };

    outcomes.push(await nodeTests(files, backends, join(tapDir, 'node-test.tap')));
    const playwright = interrupt.signal.aborted ? undefined : await playwrightTests(backends, join(tapDir, 'playwright.json'));
    if (playwright) outcomes.push(playwright);

    printSummary(outcomes);
    if (interrupt.signal.aborted) return 130;
    passedAll = outcomes.every((outcome) => outcome.ok);
    return passedAll ? 0 : 1;
  } catch (error) {
    printSummary(outcomes);
    if (interrupt.signal.aborted) return 130;
    if (error instanceof HarnessError) {
      process.stderr.write(`error: ${error.message}\n${error.hint ? `hint: ${error.hint}\n` : ''}`);
      return 2;
    }
    throw error;
  } finally {
    heading(passedAll ? `backends: stopping, deleting ${STATE_DIR}` : 'backends: stopping');
    await target.down({ purge: passedAll }).catch((error: unknown) => process.stderr.write(`warning: stopping the backends failed: ${String(error)}\n`));
    if (!passedAll) process.stdout.write(`test data kept for inspection in ${target.stateDir} (logs: ${join(target.stateDir, '*', '*.log')})\n`);
    rmSync(tapDir, { recursive: true, force: true });
  }
}

process.exitCode = await main(process.argv.slice(2));
