/**
 * Consumer lag per group and partition from committed offsets and the topic's
 * watermarks, and the lag-drain curve built from samples over time.
 */

/** Watermarks of one partition: `low` is the first retained offset, `high` the next offset to be written. */
export interface PartitionWatermarks {
  partition: number;
  low: string | number;
  high: string | number;
}

/** A group's committed offset on one partition; -1 (or null) when the group has committed none. */
export interface CommittedOffset {
  partition: number;
  offset: string | number | null;
}

export interface PartitionLag {
  partition: number;
  /** Null when the group has committed no offset on this partition. */
  committed: number | null;
  low: number;
  high: number;
  lag: number;
}

export interface GroupLag {
  group: string;
  partitions: PartitionLag[];
  total: number;
}

function toBigInt(value: string | number | null | undefined): bigint | null {
  if (value === null || value === undefined || value === '') return null;
  try {
    return BigInt(value);
  } catch {
    return null;
  }
}

/**
 * Lag of one partition for one group, in messages:
 * - empty partition (high <= low): 0;
 * - no committed offset (-1): every retained message, high - low, because the
 *   service's consumers start from the earliest offset when a group has none;
 * - committed offset below low (retention removed it): high - low, since the
 *   consumer restarts from the earliest retained offset;
 * - otherwise high - committed, and 0 once committed reaches high.
 */
export function partitionLag(committed: string | number | null, low: string | number, high: string | number): number {
  const lowOffset = toBigInt(low) ?? 0n;
  const highOffset = toBigInt(high) ?? 0n;
  if (highOffset <= lowOffset) return 0;
  const committedOffset = toBigInt(committed);
  if (committedOffset === null || committedOffset < 0n || committedOffset < lowOffset) {
    return Number(highOffset - lowOffset);
  }
  if (committedOffset >= highOffset) return 0;
  return Number(highOffset - committedOffset);
}

/** Lag of `group` on every partition of the topic; partitions the group never committed on count as -1. */
export function computeGroupLag(group: string, watermarks: readonly PartitionWatermarks[], committed: readonly CommittedOffset[]): GroupLag {
  const committedByPartition = new Map(committed.map((entry) => [entry.partition, entry.offset]));
  const partitions = [...watermarks]
    .sort((a, b) => a.partition - b.partition)
    .map((watermark) => {
      const offset = committedByPartition.get(watermark.partition) ?? null;
      const parsed = toBigInt(offset);
      return {
        partition: watermark.partition,
        committed: parsed === null || parsed < 0n ? null : Number(parsed),
        low: Number(toBigInt(watermark.low) ?? 0n),
        high: Number(toBigInt(watermark.high) ?? 0n),
        lag: partitionLag(offset, watermark.low, watermark.high),
      };
    });
  return { group, partitions, total: partitions.reduce((sum, entry) => sum + entry.lag, 0) };
}

/** One lag sample: every group's lag at one moment. */
export interface LagSample {
  /** Milliseconds since the run started. */
  tMs: number;
  groups: GroupLag[];
  total: number;
  /** Set when the sample could not be read (broker down, topic missing). */
  error?: string;
}

export interface LagCurveSummary {
  samples: number;
  peakTotal: number;
  peakAtMs: number | null;
  /** Per-group peak. */
  peakByGroup: Record<string, number>;
  /** Whether the last successful sample had zero lag in every group and partition. */
  drained: boolean;
  /** First time (ms since run start), at or after the load ended, from which every later sample was zero. */
  drainedAtMs: number | null;
  /** drainedAtMs minus the time the load ended; 0 when lag was already zero then. */
  timeToDrainMs: number | null;
  /** Lag per group and partition in the last successful sample. */
  final: GroupLag[];
}

/** Summarises lag samples: peak, whether and when lag drained after the load ended at `loadEndMs`. */
export function summarizeLagCurve(samples: readonly LagSample[], loadEndMs: number): LagCurveSummary {
  const valid = samples.filter((sample) => sample.error === undefined);
  const peakByGroup: Record<string, number> = {};
  let peak: LagSample | undefined;
  for (const sample of valid) {
    if (!peak || sample.total > peak.total) peak = sample;
    for (const group of sample.groups) peakByGroup[group.group] = Math.max(peakByGroup[group.group] ?? 0, group.total);
  }
  const last = valid.at(-1);
  const drained = last !== undefined && last.total === 0;
  let drainedAtMs: number | null = null;
  if (drained) {
    let index = valid.length - 1;
    while (index > 0 && (valid[index - 1] as LagSample).total === 0 && (valid[index - 1] as LagSample).tMs >= loadEndMs) index -= 1;
    drainedAtMs = (valid[index] as LagSample).tMs;
  }
  return {
    samples: valid.length,
    peakTotal: peak?.total ?? 0,
    peakAtMs: peak ? peak.tMs : null,
    peakByGroup,
    drained,
    drainedAtMs,
    timeToDrainMs: drainedAtMs === null ? null : Math.round(Math.max(0, drainedAtMs - loadEndMs)),
    final: last?.groups ?? [],
  };
}
