/**
 * Plain-text result of a suite run for the terminal and CI logs: one block per
 * scenario with its verdict and findings, then where the report is.
 */
import { join } from 'node:path';
import type { RunSummary } from '../report/summary.js';

function formatFigure(value: number | undefined, unit: string): string {
  return value === undefined ? '-' : `${Math.round(value * 10) / 10} ${unit}`;
}

/** Formats the run's outcome; no colour, so it reads the same in a log file. */
export function formatRunResult(summary: RunSummary, runDir: string): string {
  const lines: string[] = [];
  for (const scenario of summary.scenarios) {
    const figures = scenario.figures;
    lines.push(
      `${scenario.verdict.toUpperCase().padEnd(16)} ${scenario.name}: ${scenario.load.items.acknowledged}/${scenario.load.items.planned} acknowledged, ` +
        `p99 ${formatFigure(figures.latencyP99Ms, 'ms')}, ${formatFigure(figures.acknowledgedItemsPerSecond, 'items/s')}, ` +
        `consistency p99 ${formatFigure(figures.consistencyP99Ms, 'ms')}, lag drained in ${formatFigure(figures.lagDrainMs, 'ms')} (run_id ${scenario.runId})`,
    );
    for (const reason of scenario.reasons) lines.push(`  - ${reason}`);
    for (const warning of scenario.verification.warnings ?? []) lines.push(`  warning: ${warning}`);
  }
  lines.push('');
  lines.push(`verdict: ${summary.verdict} (exit ${summary.exitCode})`);
  lines.push(`report:  ${join(runDir, 'index.html')}`);
  lines.push(`junit:   ${join(runDir, 'junit.xml')}`);
  return `${lines.join('\n')}\n`;
}
