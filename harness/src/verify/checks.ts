/**
 * Turns counts, lag and reconciliation into invariant checks, each naming
 * what it expected, what it found and where it looked.
 */
import { DISCREPANCY_CLASSES, type DiscrepancyClass, type ReconcileResult } from './reconcile.js';
import type { InvariantCheck, LagReport, StoreCount } from './types.js';

function countCheck(count: StoreCount): InvariantCheck {
  const passed = count.expected === count.found;
  const plan = count.plan ? ` (plan: ${count.plan})` : '';
  return {
    name: `${count.store}.count`,
    status: passed ? 'passed' : 'failed',
    message: passed
      ? `${count.store} holds ${count.found} items for the run, as acknowledged`
      : `${count.store} holds ${count.found} items for the run, expected ${count.expected} acknowledged`,
    evidence: { expected: count.expected, found: count.found, where: `${count.where}${plan}` },
  };
}

function lagChecks(lag: LagReport, groups: readonly string[]): InvariantCheck[] {
  if (!lag.checked) {
    return groups.map((group) => ({
      name: `lag.${group}`,
      status: 'skipped',
      message: `lag of ${group} not checked: ${lag.skippedReason ?? 'switched off'}`,
      evidence: { expected: 0, found: 'not measured', where: lag.where },
    }));
  }
  return groups.map((group) => {
    const final = lag.summary.final.find((entry) => entry.group === group);
    if (!final) {
      return {
        name: `lag.${group}`,
        status: 'failed',
        message: `lag of ${group} could not be read${lag.lastError ? `: ${lag.lastError}` : ''}`,
        evidence: { expected: 0, found: 'unknown', where: lag.where },
      };
    }
    const behind = final.partitions.filter((partition) => partition.lag > 0);
    const perPartition = behind
      .map((partition) => `partition ${partition.partition}: ${partition.lag} (committed ${partition.committed ?? 'none'}, high ${partition.high})`)
      .join('; ');
    return {
      name: `lag.${group}`,
      status: final.total === 0 ? 'passed' : 'failed',
      message:
        final.total === 0
          ? `consumer group ${group} drained to lag 0 on ${final.partitions.length} partitions`
          : `consumer group ${group} still ${final.total} messages behind: ${perPartition}`,
      evidence: { expected: 0, found: final.total, where: lag.where },
    };
  });
}

const CLASS_TITLES: Record<DiscrepancyClass, string> = {
  lost: 'lost items (acknowledged, in no store)',
  partial: 'partial items (in one store only)',
  duplicated: 'duplicated items',
  phantom: 'phantom items (stored with the run id, never acknowledged)',
  'payload-mismatch': 'payload mismatches (content hash differs)',
};

function classCheck(klass: DiscrepancyClass, reconciliation: ReconcileResult): InvariantCheck {
  const entries = reconciliation.discrepancies.filter((entry) => entry.class === klass);
  const count = reconciliation.counts[klass];
  const where = reconciliation.stores.map((store) => `${store.store}: ${store.query}`).join('; ');
  if (count === 0) {
    return {
      name: `items.${klass}`,
      status: 'passed',
      message: `no ${CLASS_TITLES[klass]} among ${reconciliation.acknowledged} acknowledged items`,
      evidence: { expected: 0, found: 0, where: `acknowledged ids vs ${where}` },
    };
  }
  const parts = entries.map((entry) => `${entry.message}; sample: ${entry.sample.map((sample) => sample.id).join(', ')}`);
  return {
    name: `items.${klass}`,
    status: 'failed',
    message: `${klass}: ${parts.join(' | ')}`,
    evidence: { expected: 0, found: count, where: `acknowledged ids vs ${where}` },
    sample: entries.flatMap((entry) => entry.sample.map((sample) => ({ id: sample.id, detail: `${entry.store}: ${sample.detail}` }))),
  };
}

/** Builds every invariant check of one verification. */
export function buildChecks(counts: readonly StoreCount[], lag: LagReport, groups: readonly string[], reconciliation: ReconcileResult): InvariantCheck[] {
  return [
    ...counts.map(countCheck),
    ...lagChecks(lag, groups),
    ...DISCREPANCY_CLASSES.map((klass) => classCheck(klass, reconciliation)),
  ];
}
