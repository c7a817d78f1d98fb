/**
 * Counts of the test steps of `npm test` (test/run.ts): node:test from its
 * TAP summary, Playwright from its JSON reporter, and the closing lines that
 * report each step apart. The type check is a step, not a test.
 */
import { existsSync, readFileSync } from 'node:fs';

export interface TestCounts {
  passed: number;
  failed: number;
  skipped: number;
}

export interface StepOutcome {
  step: string;
  ok: boolean;
  detail: string;
  /** Tests the step ran; absent for steps that are no tests (the type check) and when none could be read. */
  counts?: TestCounts;
}

/** Reads the summary lines (`# pass N`, `# fail N`, ...) that node:test writes to its TAP output. */
export function readTapCounts(tapPath: string): TestCounts | undefined {
  if (!existsSync(tapPath)) return undefined;
  const text = readFileSync(tapPath, 'utf8');
  const read = (key: string) => {
    const found = new RegExp(`^# ${key} (\\d+)$`, 'm').exec(text);
    return found ? Number(found[1]) : undefined;
  };
  const pass = read('pass');
  const fail = read('fail');
  if (pass === undefined || fail === undefined) return undefined;
  return { passed: pass, failed: fail + (read('cancelled') ?? 0), skipped: (read('skipped') ?? 0) + (read('todo') ?? 0) };
}

interface PlaywrightReport {
  stats?: { expected?: number; unexpected?: number; flaky?: number; skipped?: number };
  errors?: { message?: string }[];
}

/**
 * Reads the counts of Playwright's JSON reporter: expected and flaky tests
 * passed (a flaky one passed on a retry), unexpected ones failed.
 */
export function readPlaywrightCounts(jsonPath: string): (TestCounts & { errors: string[] }) | undefined {
  if (!existsSync(jsonPath)) return undefined;
  let report: PlaywrightReport;
  try {
    report = JSON.parse(readFileSync(jsonPath, 'utf8')) as PlaywrightReport;
  } catch {
    return undefined;
  }
  const stats = report.stats;
  if (!stats) return undefined;
  return {
    passed: (stats.expected ?? 0) + (stats.flaky ?? 0),
    failed: stats.unexpected ?? 0,
    skipped: stats.skipped ?? 0,
    errors: (report.errors ?? []).map((error) => (error.message ?? '').split('\n')[0] ?? '').filter(Boolean),
  };
}

/** Describes counts as `N passed, M failed` (and skipped ones when there are any). */
export function describeCounts(counts: TestCounts): string {
  return `${counts.passed} passed, ${counts.failed} failed${counts.skipped > 0 ? `, ${counts.skipped} skipped` : ''}`;
}

/** Formats one line per step, then the tests of all steps together. */
export function formatSummary(outcomes: readonly StepOutcome[]): string {
  const lines = outcomes.map((outcome) => `${outcome.ok ? 'ok  ' : 'FAIL'}  ${outcome.step}: ${outcome.detail}`);
  const counted = outcomes.filter((outcome) => outcome.counts !== undefined);
  const total = counted.reduce(
    (sum, outcome) => ({
      passed: sum.passed + (outcome.counts?.passed ?? 0),
      failed: sum.failed + (outcome.counts?.failed ?? 0),
      skipped: sum.skipped + (outcome.counts?.skipped ?? 0),
    }),
    { passed: 0, failed: 0, skipped: 0 },
  );
  const parts = counted.map((outcome) => `${outcome.step} ${outcome.counts?.passed ?? 0}/${(outcome.counts?.passed ?? 0) + (outcome.counts?.failed ?? 0)}`);
  const uncounted = outcomes.filter((outcome) => outcome.counts === undefined).map((outcome) => `${outcome.step} ${outcome.ok ? 'ok' : 'failed'}`);
  lines.push('');
  lines.push(`tests: ${describeCounts(total)}${parts.length > 0 ? ` (${parts.join(', ')})` : ''}${uncounted.length > 0 ? `; ${uncounted.join(', ')}` : ''}`);
  return `${lines.join('\n')}\n`;
}
