/**
 * Judges whether a load with a fixed arrival rate achieved it. A generator
 * that fell short did not apply the load the scenario promised, so its
 * latency cannot be judged against the thresholds: the run is invalid
 * (exit 4), with a reason that names the target, the achieved rate and the fix.
 */

/** Share of the planned requests that may be missing before a fixed-rate run counts as short; 0.05 = 5 %. */
export const DEFAULT_MAX_RATE_SHORTFALL = 0.05;

export interface ArrivalRateInputs {
  /** What the rate counts, e.g. "requests" or "iterations". */
  unit: string;
  /** Target rate per second. */
  targetPerSecond: number;
  /** Time in which the load started its requests or iterations, in milliseconds (the drain after the last one excluded). */
  windowMs: number;
  /** Requests or iterations started in that window. */
  started: number;
  /** Iterations the generator skipped because it had no free VU or connection (k6 dropped_iterations); 0 when unknown. */
  dropped: number;
  maxShortfall: number;
  /** What to change when the rate was not reached, e.g. "raise maxVUs". */
  fix: string;
}

export interface ArrivalRateVerdict {
  targetPerSecond: number;
  achievedPerSecond: number;
  started: number;
  dropped: number;
  /** Missing share of the target, 0..1: the larger of 1 - achieved/target and dropped/(started + dropped). */
  shortfall: number;
  /** Set when the run fell short; the sentence the report shows. */
  invalidReason?: string;
}

function round(value: number, digits = 1): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** Compares the achieved rate and the dropped iterations with the target rate. */
export function judgeArrivalRate(inputs: ArrivalRateInputs): ArrivalRateVerdict {
  const seconds = inputs.windowMs / 1000;
  const achievedPerSecond = seconds > 0 ? inputs.started / seconds : 0;
  const rateShortfall = inputs.targetPerSecond > 0 ? 1 - achievedPerSecond / inputs.targetPerSecond : 0;
  const attempted = inputs.started + inputs.dropped;
  const droppedShare = attempted > 0 ? inputs.dropped / attempted : 0;
  const shortfall = Math.max(0, rateShortfall, droppedShare);
  const verdict: ArrivalRateVerdict = {
    targetPerSecond: inputs.targetPerSecond,
    achievedPerSecond: round(achievedPerSecond),
    started: inputs.started,
    dropped: inputs.dropped,
    shortfall: round(shortfall, 4),
  };
  if (shortfall > inputs.maxShortfall) {
    const droppedText = inputs.dropped > 0 ? `, ${inputs.dropped} ${inputs.unit} dropped` : '';
    verdict.invalidReason =
      `the load fell short of its fixed arrival rate: ${round(achievedPerSecond)} ${inputs.unit}/s of ${inputs.targetPerSecond}/s ` +
      `(${inputs.started} ${inputs.unit} started in ${round(seconds)} s${droppedText}, ${round(shortfall * 100)}% short, ` +
      `limit ${round(inputs.maxShortfall * 100)}%), so its latency does not describe that rate; ${inputs.fix}`;
  }
  return verdict;
}
