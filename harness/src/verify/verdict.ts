/**
 * The verdict of a scenario and of a suite, and its exit code. The precedence
 * gives CI the most serious finding: error (2) over a failed data
 * invariant (3) over an invalid run (4) over a failed threshold (1). Lost data
 * is reported even when the run is invalid, because a saturated generator
 * does not excuse a lost item.
 */
import {
  EXIT_INTERRUPTED,
  EXIT_INVARIANT_FAILED,
  EXIT_PASSED,
  EXIT_RUN_INVALID,
  EXIT_THRESHOLD_FAILED,
  EXIT_USAGE,
  type ExitCode,
} from '../exit-codes.js';
import type { ActionRecord } from '../load/actions.js';
import type { CpuSummary } from '../load/cpu-monitor.js';
import type { ValiditySpec } from '../scenario/types.js';
import type { ThresholdResult } from './thresholds.js';
import type { InvariantCheck, VerificationResult } from './types.js';

/** `interrupted`: SIGINT or SIGTERM stopped the run, so nothing it measured is judged. */
export type Verdict = 'passed' | 'threshold-failed' | 'invariant-failed' | 'invalid' | 'error' | 'interrupted';

const PRECEDENCE: readonly Verdict[] = ['interrupted', 'error', 'invariant-failed', 'invalid', 'threshold-failed', 'passed'];

const EXIT_CODES: Record<Verdict, ExitCode> = {
  passed: EXIT_PASSED,
  'threshold-failed': EXIT_THRESHOLD_FAILED,
  error: EXIT_USAGE,
  'invariant-failed': EXIT_INVARIANT_FAILED,
  invalid: EXIT_RUN_INVALID,
  interrupted: EXIT_INTERRUPTED,
};

export function exitCodeOf(verdict: Verdict): ExitCode {
  return EXIT_CODES[verdict];
}

/** Returns the most serious of several verdicts, or `passed` for none. */
export function combineVerdicts(verdicts: readonly Verdict[]): Verdict {
  return PRECEDENCE.find((verdict) => verdicts.includes(verdict)) ?? 'passed';
}

/**
 * The harness CPU is judged only over a load of at least this long. Over a
 * shorter window the start-up work of the first requests (module loading,
 * JIT compilation, connection set-up) dominates the mean: a 0.1 s run can
 * show more than one core without being limited by the harness.
 */
export const MIN_CPU_WINDOW_MS = 2000;
/** ...and with at least this many CPU samples (one per 500 ms by default). */
export const MIN_CPU_SAMPLES = 4;

/** Returns why the harness CPU of this load is too thin to judge saturation on, or undefined when it can be judged. */
export function cpuNotJudgedReason(cpu: CpuSummary): string | undefined {
  if (cpu.wallMs >= MIN_CPU_WINDOW_MS && cpu.samples.length >= MIN_CPU_SAMPLES) return undefined;
  return (
    `harness CPU not judged: the load lasted ${(cpu.wallMs / 1000).toFixed(1)} s with ${cpu.samples.length} CPU sample(s), ` +
    `and saturation is judged only over at least ${MIN_CPU_WINDOW_MS / 1000} s and ${MIN_CPU_SAMPLES} samples`
  );
}

export interface ValidityInputs {
  validity: ValiditySpec;
  acknowledgedItems: number;
  cpu: CpuSummary;
  actions: readonly ActionRecord[];
  verification: VerificationResult;
  /** Set when every request failed for the same cause; then the amount of data and the CPU are not judged. */
  loadFailure?: string;
}

/** Reasons that make a run invalid; empty when it is valid. */
export function assessValidity(inputs: ValidityInputs): string[] {
  const reasons: string[] = [];
  const { validity, cpu } = inputs;
  if (inputs.loadFailure === undefined && inputs.acknowledgedItems < validity.minAcknowledgedItems) {
    reasons.push(
      `too little data to judge: ${inputs.acknowledgedItems} items acknowledged, at least ${validity.minAcknowledgedItems} needed`,
    );
  }
  if (inputs.loadFailure === undefined && cpuNotJudgedReason(cpu) === undefined && cpu.meanCores >= validity.maxHarnessCpu) {
    reasons.push(
      `the load generator saturated its CPU: the harness used ${cpu.meanCores} cores on average during the load (limit ${validity.maxHarnessCpu}), so the numbers measure the harness, not the service`,
    );
  }
  for (const action of inputs.actions) {
    if (action.status === 'failed') reasons.push(`action ${action.action} at ${action.at} failed: ${action.error ?? 'unknown error'}`);
  }
  if (inputs.verification.status === 'aborted') reasons.push('verification was interrupted before it could judge the run');
  return reasons;
}

export interface ScenarioJudgement {
  verdict: Verdict;
  /** One line per finding, most serious first. */
  reasons: string[];
}

/**
 * Judges one scenario from its checks, thresholds and validity. A
 * `loadFailure` (every request failed for one cause, see load-failure.ts) is
 * an environment error and leads the reasons.
 */
export function judgeScenario(
  checks: readonly InvariantCheck[],
  thresholds: readonly ThresholdResult[],
  invalidReasons: readonly string[],
  errors: readonly string[],
  loadFailure?: string,
): ScenarioJudgement {
  const failedChecks = checks.filter((check) => check.status === 'failed');
  const failedThresholds = thresholds.filter((threshold) => threshold.status === 'failed');
  const reasons = [
    ...(loadFailure === undefined ? [] : [loadFailure]),
    ...errors.map((error) => `store error: ${error}`),
    ...failedChecks.map((check) => check.message),
    ...invalidReasons,
    ...failedThresholds.map((threshold) => `threshold ${threshold.name}: ${threshold.message}`),
  ];
  const countsUnreadable = checks.some((check) => check.name.endsWith('.count') && check.evidence.found === -1);
  const verdicts: Verdict[] = [];
  if (countsUnreadable || loadFailure !== undefined) verdicts.push('error');
  if (failedChecks.length > 0) verdicts.push('invariant-failed');
  if (invalidReasons.length > 0) verdicts.push('invalid');
  if (failedThresholds.length > 0) verdicts.push('threshold-failed');
  return { verdict: combineVerdicts(verdicts), reasons };
}
