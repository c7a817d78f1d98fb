/**
 * Runs one scenario against a running target: load with its actions, then
 * verification, thresholds and validity, and returns the scenario summary.
 * Polling, CPU sampling and /metrics scraping run alongside the load so the
 * report can put the client's and the server's view on one timeline.
 */
import { randomBytes } from 'node:crypto';
import { usageError } from '../exit-codes.js';
import type { ProgressSink } from '../progress.js';
import type { Target, TargetEndpoints } from '../targets/types.js';
import { createActionScheduler, type ActionRecord } from '../load/actions.js';
import { startCpuMonitor, type CpuSummary } from '../load/cpu-monitor.js';
import { createLoadEngine } from '../load/engines.js';
import { summarizeLatency } from '../load/latency.js';
import { createLiveStatus, formatLoadProgress, type LiveProgressOptions } from '../load/live-progress.js';
import type { AcknowledgedItem, LoadProgress, LoadResult } from '../load/types.js';
import { createMetricsScraper, metricsUrlsOf } from '../verify/metrics-scraper.js';
import { isHarnessAction, runStoreFault } from '../verify/store-faults.js';
import { computeFigures, evaluateThresholds } from '../verify/thresholds.js';
import { findLoadFailure } from '../verify/load-failure.js';
import { assessValidity, cpuNotJudgedReason, exitCodeOf, judgeScenario, type ScenarioJudgement } from '../verify/verdict.js';
import { createVerifier } from '../verify/verifier.js';
import type { VerificationResult } from '../verify/types.js';
import { summarizeLoad, type HarnessUsage, type ScenarioSummary } from '../report/summary.js';
import type { ActionSpec, Scenario } from './types.js';

export interface RunScenarioOptions {
  scenario: Scenario;
  target: Target | undefined;
  endpoints: TargetEndpoints;
  /** Fixed run id (to replay a run); a fresh one per scenario by default. */
  runId?: string;
  /** Seed that replaces the scenario's, to replay a run. */
  seed?: string;
  progress: ProgressSink;
  live: Omit<LiveProgressOptions, 'enabled'> & { enabled: boolean };
  signal: AbortSignal;
  /** File name of the acknowledged-items file, relative to the run directory. */
  acknowledgedFile: string;
}

export interface ScenarioRun {
  summary: ScenarioSummary;
  acknowledged: AcknowledgedItem[];
}

/** Two scrapes of each process's /metrics per second are cheap next to the load, and short runs still get a few points. */
const METRICS_SCRAPE_INTERVAL_MS = 500;

function wallClock(): number {
  return performance.timeOrigin + performance.now();
}

/** Builds a fresh run id from the scenario name, the UTC time and 4 random hex characters, e.g. bulk-1000-20261204t195755z-3fa2. */
export function newRunId(scenarioName: string, at = new Date()): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'z').toLowerCase();
  return `${scenarioName}-${stamp}-${randomBytes(2).toString('hex')}`;
}

/** Rejects, before any load, a scenario whose engine is missing or whose actions the target cannot run. */
export async function preflightScenario(scenario: Scenario, target: Target | undefined): Promise<void> {
  await createLoadEngine(scenario.load.engine);
  const targetActions = scenario.actions.filter((action) => !isHarnessAction(action.action));
  if (targetActions.length > 0 && !target?.runAction) {
    const names = targetActions.map((action) => action.action).join(', ');
    throw usageError(
      `the scenario's actions ${names} need a target that runs actions, and ${target ? `target ${target.name}` : 'this target'} runs none`,
      'run the scenario with --target local (stop-component, start-component) or --target kind (helm-upgrade, helm-rollback)',
    );
  }
}

function finalProgress(load: LoadResult): LoadProgress {
  return {
    totalItems: load.totalItems,
    sentItems: load.totalItems - load.notSent,
    acknowledgedItems: load.acknowledged.length,
    rejectedItems: load.rejected.length,
    failedItems: load.failed.length,
    retries: load.requests.retried,
    elapsedMs: load.endedAtMs - load.startedAtMs,
  };
}

function harnessUsage(cpu: CpuSummary, offsetMs: number): HarnessUsage {
  return {
    cpuNotJudged: cpuNotJudgedReason(cpu),
    meanCores: cpu.meanCores,
    maxCores: cpu.maxCores,
    maxEventLoopDelayP99Ms: cpu.maxEventLoopDelayP99Ms,
    wallMs: cpu.wallMs,
    cpuMs: cpu.cpuMs,
    samples: cpu.samples.map((sample) => ({ ...sample, tMs: sample.tMs + offsetMs })),
  };
}

/** Runs the scenario's actions: harness actions against Postgres, the rest through the target. */
function createActionRunner(options: RunScenarioOptions, runId: string, namespace: string, results: Map<ActionSpec, string[]>) {
  return async (action: ActionSpec, signal: AbortSignal) => {
    const messages = results.get(action) ?? [];
    results.set(action, messages);
    if (isHarnessAction(action.action)) {
      await runStoreFault(action, { postgresUrl: options.endpoints.postgresUrl, runId, namespace, onResult: (message) => messages.push(message) }, signal);
    } else {
      await options.target?.runAction?.({ action: action.action, params: action.params }, signal);
      messages.push(`target ${options.target?.name ?? 'unknown'} ran ${action.action} ${JSON.stringify(action.params)}`);
    }
    options.progress({ kind: 'info', message: `action ${action.action} at ${action.at}: ${messages.at(-1) ?? 'done'}` });
  };
}

/**
 * Returns the judgement of a scenario that SIGINT or SIGTERM cut short. Its checks
 * are not judged: verification stopped before the consumers caught up, so
 * acknowledged items would read as lost.
 */
function interruptedJudgement(signal: AbortSignal): ScenarioJudgement {
  const reason = signal.reason instanceof Error ? signal.reason.message : 'interrupted';
  return { verdict: 'interrupted', reasons: [`${reason}: the figures cover only the part that ran, and no invariant was judged`] };
}

/** Runs one scenario end to end and returns its summary. */
export async function runScenario(options: RunScenarioOptions): Promise<ScenarioRun> {
  const { scenario, endpoints, signal } = options;
  const spec = { ...scenario.load, seed: options.seed ?? scenario.load.seed };
  const runId = options.runId ?? newRunId(scenario.name);
  const namespace = spec.namespace ?? endpoints.namespace;
  await preflightScenario(scenario, options.target);
  const engine = await createLoadEngine(spec.engine);

  const startedAt = new Date();
  const scenarioStartMs = wallClock();
  options.progress({ kind: 'step-start', step: `scenario ${scenario.name}`, detail: `run_id ${runId}, namespace ${namespace}, seed ${spec.seed}` });
  const cpuMonitor = startCpuMonitor();
  const scraper = createMetricsScraper(metricsUrlsOf(endpoints), scenarioStartMs, METRICS_SCRAPE_INTERVAL_MS);
  scraper.start();
  const verifyStatus = createLiveStatus(`verify ${scenario.name}`, options.live);
  let loadDone = false;
  const verifier = createVerifier({
    endpoints,
    runId,
    namespace,
    spec: scenario.verify,
    plannedItems: spec.items,
    runStartMs: scenarioStartMs,
    onPoll: (text) => loadDone && verifyStatus.update(text),
  });
  verifier.start(signal);

  const actionResults = new Map<ActionSpec, string[]>();
  const scheduler = createActionScheduler(scenario.actions, createActionRunner(options, runId, namespace, actionResults), { signal });
  const loadStatus = createLiveStatus(`load ${scenario.name}`, options.live);
  let load: LoadResult;
  let actions: ActionRecord[];
  let cpu: CpuSummary;
  let verification: VerificationResult;
  try {
    await scheduler.start(spec.items);
    load = await engine.run(spec, {
      endpoints,
      runId,
      namespace,
      signal,
      thresholds: scenario.thresholds,
      hooks: {
        beforeRequest: scheduler.hooks.beforeRequest,
        onProgress: (progress) => {
          scheduler.hooks.onProgress(progress);
          loadStatus.update(formatLoadProgress(progress));
        },
        onAcknowledged: (items) => verifier.acknowledge(items),
      },
    });
    cpu = cpuMonitor.stop();
    if (signal.aborted) loadStatus.interrupted(formatLoadProgress(finalProgress(load)));
    else loadStatus.done(formatLoadProgress(finalProgress(load)));
    actions = await scheduler.finish(finalProgress(load));
    loadDone = true;
    verification = await verifier.finish(load);
    const polled = `after ${(verification.pollMs / 1000).toFixed(1)} s, ${verification.polls} polls`;
    if (verification.status === 'aborted') verifyStatus.interrupted(polled);
    else verifyStatus.done(`${verification.status} ${polled}`);
  } finally {
    await verifier.close();
  }
  const { server, consumers } = await scraper.stop();

  const latency = summarizeLatency(load.latency);
  const loadSummary = summarizeLoad(load, latency, scenarioStartMs);
  const figures = computeFigures({
    latency,
    acknowledgedItems: load.acknowledged.length,
    loadDurationMs: load.endedAtMs - load.startedAtMs,
    verification,
    cpu,
  });
  const thresholds = [
    ...evaluateThresholds(scenario.thresholds, figures, { failedItems: load.failed.length, rejectedItems: load.rejected.length }),
    ...(load.engineThresholds ?? []),
  ];
  const loadFailure = findLoadFailure(load, endpoints.target);
  const invalidReasons = [
    ...assessValidity({ validity: scenario.validity, acknowledgedItems: load.acknowledged.length, cpu, actions, verification, loadFailure }),
    ...(load.invalidReasons ?? []),
  ];
  const judgement = signal.aborted
    ? interruptedJudgement(signal)
    : judgeScenario(verification.checks, thresholds, invalidReasons, verification.errors, loadFailure);
  const durationMs = Math.round(wallClock() - scenarioStartMs);
  if (signal.aborted) options.progress({ kind: 'step-interrupted', step: `scenario ${scenario.name}`, durationMs });
  else options.progress({ kind: 'step-done', step: `scenario ${scenario.name}`, durationMs, detail: judgement.verdict });

  const summary: ScenarioSummary = {
    name: scenario.name,
    description: scenario.description,
    file: scenario.file,
    runId,
    namespace,
    startedAt: startedAt.toISOString(),
    durationMs,
    verdict: judgement.verdict,
    exitCode: exitCodeOf(judgement.verdict),
    reasons: judgement.reasons,
    invalidReasons,
    settings: { load: spec, verify: scenario.verify, thresholds: scenario.thresholds, validity: scenario.validity, actions: scenario.actions },
    load: loadSummary,
    actions: actions.map((record, index) => ({ ...record, results: actionResults.get(scenario.actions[index] as ActionSpec) ?? [] })),
    verification,
    thresholds,
    figures,
    harness: harnessUsage(cpu, 0),
    server,
    consumers,
    acknowledgedFile: options.acknowledgedFile,
  };
  return { summary, acknowledged: load.acknowledged };
}
