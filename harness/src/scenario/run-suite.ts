/**
 * Runs every scenario of a suite on one target, one after the other, and
 * writes the run's report directory.
 */
import { join, relative } from 'node:path';
import type { AcknowledgedItem } from '../load/types.js';
import type { LiveProgressOptions } from '../load/live-progress.js';
import type { ProgressSink } from '../progress.js';
import type { Target, TargetEndpoints } from '../targets/types.js';
import { combineVerdicts, exitCodeOf } from '../verify/verdict.js';
import { collectEnvironment } from '../report/environment.js';
import { SUMMARY_FORMAT_VERSION, type RunSummary, type ScenarioSummary } from '../report/summary.js';
import { createRunDir, writeRunReport } from '../report/write-report.js';
import { preflightScenario, runScenario } from './run-scenario.js';
import type { Suite } from './types.js';

export interface RunSuiteOptions {
  suite: Suite;
  target: Target | undefined;
  endpoints: TargetEndpoints;
  rootDir: string;
  reportsDir: string;
  progress: ProgressSink;
  live: LiveProgressOptions;
  signal: AbortSignal;
  /** Replays: a fixed run id (suffixed with the scenario name when the suite has several) and seed. */
  runId?: string;
  seed?: string;
  /** The command line, for the environment section. */
  command: string;
}

export interface SuiteRun {
  summary: RunSummary;
  runDir: string;
  schemaProblems: string[];
}

function scenarioRunId(base: string | undefined, scenarioName: string, scenarioCount: number): string | undefined {
  if (base === undefined) return undefined;
  return scenarioCount === 1 ? base : `${base}-${scenarioName}`;
}

async function collectLogs(target: Target | undefined, runDir: string, progress: ProgressSink): Promise<string[]> {
  if (!target) return [];
  try {
    const paths = await target.collectLogs(join(runDir, 'logs'));
    return paths.map((path) => relative(runDir, path));
  } catch (error) {
    progress({ kind: 'warn', message: `collecting logs failed: ${error instanceof Error ? error.message : String(error)}` });
    return [];
  }
}

/** Runs the suite and writes reports/<timestamp>-<suite>/. */
export async function runSuite(options: RunSuiteOptions): Promise<SuiteRun> {
  const { suite, progress } = options;
  for (const scenario of suite.scenarios) await preflightScenario(scenario, options.target);

  const startedAt = new Date();
  const runDir = createRunDir(options.reportsDir, suite.name, startedAt);
  const scenarios: ScenarioSummary[] = [];
  const acknowledged = new Map<string, AcknowledgedItem[]>();
  for (const scenario of suite.scenarios) {
    if (options.signal.aborted) break;
    const run = await runScenario({
      scenario,
      target: options.target,
      endpoints: options.endpoints,
      runId: scenarioRunId(options.runId, scenario.name, suite.scenarios.length),
      seed: options.seed,
      progress,
      live: options.live,
      signal: options.signal,
      acknowledgedFile: join('acks', `${scenario.name}.ndjson`),
    });
    scenarios.push({ ...run.summary, file: relative(options.rootDir, run.summary.file) || run.summary.file });
    acknowledged.set(scenario.name, run.acknowledged);
  }

  const environment = await collectEnvironment(options.rootDir, options.endpoints, options.command);
  const logs = await collectLogs(options.target, runDir, progress);
  const endedAt = new Date();
  const verdict = combineVerdicts(scenarios.map((scenario) => scenario.verdict));
  const reasons = scenarios.flatMap((scenario) => scenario.reasons.map((reason) => `${scenario.name}: ${reason}`));
  if (scenarios.length < suite.scenarios.length) reasons.push(`interrupted after ${scenarios.length} of ${suite.scenarios.length} scenarios`);
  const summary: RunSummary = {
    formatVersion: SUMMARY_FORMAT_VERSION,
    tool: 'soma-harness',
    suite: suite.name,
    description: suite.description,
    files: suite.files.map((file) => relative(options.rootDir, file) || file),
    startedAt: startedAt.toISOString(),
    endedAt: endedAt.toISOString(),
    durationMs: endedAt.getTime() - startedAt.getTime(),
    verdict: options.signal.aborted ? 'interrupted' : verdict,
    exitCode: 0,
    reasons,
    environment,
    scenarios,
    logs,
  };
  summary.exitCode = exitCodeOf(summary.verdict);
  const written = writeRunReport(runDir, summary, acknowledged, options.rootDir, options.reportsDir);
  return { summary, runDir, schemaProblems: written.schemaProblems };
}
