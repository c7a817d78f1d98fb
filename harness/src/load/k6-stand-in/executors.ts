/**
 * The two k6 executors the k6 stand-in runs. shared-iterations shares a fixed
 * number of iterations between `vus` VUs. constant-arrival-rate starts
 * iterations on a fixed schedule whether or not earlier ones finished. When
 * no VU is free and `maxVUs` are busy, it drops the iteration and counts it
 * in dropped_iterations, as k6 does.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { runtime } from './runtime.js';
import { TestAbortedError } from './modules/execution.js';

export type IterationFunction = () => unknown;

export interface ScenarioOptions {
  executor?: string;
  vus?: number;
  iterations?: number;
  maxDuration?: string;
  rate?: number;
  timeUnit?: string;
  duration?: string;
  preAllocatedVUs?: number;
  maxVUs?: number;
  gracefulStop?: string;
}

/** k6's default gracefulStop: iterations still running at the end get this long to finish. */
const DEFAULT_GRACEFUL_STOP = '30s';
const DEFAULT_MAX_DURATION = '10m';

/** Parses a k6 duration such as 500ms, 10s, 1m30s or 2h. */
export function parseK6Duration(text: string): number {
  const parts = [...text.matchAll(/([0-9.]+)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== text) {
    throw new Error(`the k6 stand-in cannot read duration ${JSON.stringify(text)}; use e.g. 500ms, 10s or 1m30s`);
  }
  const unitMs = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  return parts.reduce((total, part) => total + Number(part[1]) * unitMs[part[2] as keyof typeof unitMs], 0);
}

interface Runner {
  scenario: string;
  executor: string;
  startMs: number;
  iteration: IterationFunction;
  nextIteration: number;
  aborted?: TestAbortedError;
}

async function runIteration(runner: Runner, vu: { id: number; iterations: number }): Promise<void> {
  const context = {
    scenario: runner.scenario,
    executor: runner.executor,
    scenarioStartMs: runner.startMs,
    vuId: vu.id,
    iterationInTest: runner.nextIteration,
    iterationInVu: vu.iterations,
  };
  runner.nextIteration += 1;
  vu.iterations += 1;
  const started = performance.now();
  await runtime.iteration.run(context, async () => {
    try {
      await runner.iteration();
    } catch (error) {
      if (error instanceof TestAbortedError) {
        runner.aborted = error;
        return;
      }
      process.stderr.write(`level=error msg="${error instanceof Error ? error.stack ?? error.message : String(error)}" source=stacktrace\n`);
    }
    runtime.emit('iteration_duration', 'trend', performance.now() - started, {}, 'time');
    runtime.emit('iterations', 'counter', 1);
  });
}

/** Waits for the running iterations, at most gracefulStop. */
async function finish(running: Set<Promise<void>>, gracefulStop: string | undefined): Promise<void> {
  const graceMs = parseK6Duration(gracefulStop ?? DEFAULT_GRACEFUL_STOP);
  await Promise.race([Promise.all(running), delay(graceMs, undefined, { ref: false })]);
}

async function sharedIterations(runner: Runner, options: ScenarioOptions): Promise<void> {
  const total = options.iterations ?? 1;
  const deadline = runner.startMs + parseK6Duration(options.maxDuration ?? DEFAULT_MAX_DURATION);
  let claimed = 0;
  const work = async (id: number) => {
    const vu = { id, iterations: 0 };
    while (claimed < total && Date.now() < deadline && !runner.aborted) {
      claimed += 1;
      await runIteration(runner, vu);
    }
  };
  const vus = Math.min(options.vus ?? 1, total);
  runtime.emit('vus', 'gauge', vus);
  runtime.emit('vus_max', 'gauge', vus);
  await Promise.all(Array.from({ length: vus }, (_, index) => work(index + 1)));
}

async function constantArrivalRate(runner: Runner, options: ScenarioOptions): Promise<void> {
  const rate = options.rate ?? 1;
  const intervalMs = parseK6Duration(options.timeUnit ?? '1s') / rate;
  const endMs = runner.startMs + parseK6Duration(options.duration ?? '0s');
  const maxVUs = Math.max(options.maxVUs ?? options.preAllocatedVUs ?? 1, options.preAllocatedVUs ?? 1);
  const idle = Array.from({ length: options.preAllocatedVUs ?? 1 }, (_, index) => ({ id: index + 1, iterations: 0 }));
  let allocated = idle.length;
  const running = new Set<Promise<void>>();
  runtime.emit('vus_max', 'gauge', maxVUs);

  for (let index = 0; !runner.aborted; index += 1) {
    const dueMs = runner.startMs + index * intervalMs;
    if (dueMs >= endMs) break;
    const waitMs = dueMs - Date.now();
    if (waitMs > 0) await delay(waitMs);
    let vu = idle.pop();
    if (!vu && allocated < maxVUs) {
      allocated += 1;
      vu = { id: allocated, iterations: 0 };
    }
    if (!vu) {
      runtime.emit('dropped_iterations', 'counter', 1, { scenario: runner.scenario });
      continue;
    }
    const chosen = vu;
    const iteration: Promise<void> = runIteration(runner, chosen).finally(() => {
      running.delete(iteration);
      idle.push(chosen);
    });
    running.add(iteration);
  }
  runtime.emit('vus', 'gauge', allocated);
  await finish(running, options.gracefulStop);
}

/** Runs one scenario; returns the abort of exec.test.abort(), if the script called it. */
export async function runScenario(name: string, options: ScenarioOptions, iteration: IterationFunction): Promise<TestAbortedError | undefined> {
  const executor = options.executor ?? 'shared-iterations';
  const runner: Runner = { scenario: name, executor, startMs: Date.now(), iteration, nextIteration: 0 };
  if (executor === 'shared-iterations') await sharedIterations(runner, options);
  else if (executor === 'constant-arrival-rate') await constantArrivalRate(runner, options);
  else throw new Error(`the k6 stand-in runs the executors shared-iterations and constant-arrival-rate, not ${executor}`);
  return runner.aborted;
}
