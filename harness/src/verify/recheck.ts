/**
 * Re-checks a past run: reads its summary and acknowledged-items file and
 * verifies the stores again, as they are now, with the run's settings.
 */
import { join } from 'node:path';
import { usageError } from '../exit-codes.js';
import { createLatencyHistogram } from '../load/latency.js';
import type { LoadResult } from '../load/types.js';
import type { RunSummary, ScenarioSummary } from '../report/summary.js';
import { listRuns } from '../report/runs-index.js';
import { readAcknowledged } from '../report/write-report.js';
import type { TargetEndpoints } from '../targets/types.js';
import type { VerificationResult } from './types.js';
import { judgeScenario, type ScenarioJudgement } from './verdict.js';
import { createVerifier } from './verifier.js';

export interface FoundRun {
  runDir: string;
  summary: RunSummary;
  scenario: ScenarioSummary;
}

/** Finds the run directory under `reportsDir` whose summary has a scenario with `runId`. */
export function findRunById(reportsDir: string, runId: string): FoundRun {
  const runs = listRuns(reportsDir);
  for (const run of runs) {
    const scenario = run.summary?.scenarios.find((entry) => entry.runId === runId);
    if (run.summary && scenario) return { runDir: join(reportsDir, run.dir), summary: run.summary, scenario };
  }
  const recent = runs
    .flatMap((run) => run.summary?.scenarios.map((scenario) => scenario.runId) ?? [])
    .slice(0, 5);
  throw usageError(
    `no run with run_id "${runId}" under ${reportsDir}`,
    recent.length > 0 ? `recent run ids: ${recent.join(', ')}` : 'run a suite first, or pass --reports-dir',
  );
}

export interface RecheckResult {
  verification: VerificationResult;
  judgement: ScenarioJudgement;
  acknowledged: number;
}

/** Verifies the stores against the run's acknowledged items; polls up to `timeoutMs` (default: the run's own). */
export async function recheckRun(
  found: FoundRun,
  endpoints: TargetEndpoints,
  options: { timeoutMs?: number; onPoll?: (text: string) => void; signal?: AbortSignal } = {},
): Promise<RecheckResult> {
  const { scenario } = found;
  const acknowledged = readAcknowledged(join(found.runDir, scenario.acknowledgedFile));
  const now = Date.now();
  const spec = { ...scenario.settings.verify, timeoutMs: options.timeoutMs ?? scenario.settings.verify.timeoutMs };
  const verifier = createVerifier({
    endpoints,
    runId: scenario.runId,
    namespace: scenario.namespace,
    spec,
    plannedItems: acknowledged.length,
    runStartMs: now,
    onPoll: options.onPoll,
  });
  const load: LoadResult = {
    engine: scenario.settings.load.engine,
    runId: scenario.runId,
    namespace: scenario.namespace,
    mode: scenario.load.mode,
    startedAtMs: now,
    endedAtMs: now,
    totalItems: scenario.load.items.planned,
    acknowledged,
    rejected: scenario.load.rejectedSample,
    failed: scenario.load.failedSample,
    notSent: scenario.load.items.notSent,
    requests: scenario.load.requests,
    chunks: [],
    latency: createLatencyHistogram(),
    throughput: [],
    notes: [],
  };
  try {
    if (options.signal) verifier.start(options.signal);
    const verification = await verifier.finish(load);
    return { verification, judgement: judgeScenario(verification.checks, [], [], verification.errors), acknowledged: acknowledged.length };
  } finally {
    await verifier.close();
  }
}
