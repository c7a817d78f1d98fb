/**
 * reports/index.html: every run under reports/, newest first, with its
 * verdict and key figures. Plain HTML, no script, so it opens anywhere.
 */
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { escapeHtml, formatMs, formatNumber, renderTable, statusBadge } from './html-format.js';
import { REPORT_CSS } from './html.js';
import type { RunSummary } from './summary.js';
import { readValidSummary, REPO_ROOT, SUMMARY_FILE } from './summary-schema.js';

export interface RunEntry {
  dir: string;
  /** The summary; absent when it could not be read or breaks schemas/report.schema.json. */
  summary?: RunSummary;
  /** The first problem that kept the summary from being used. */
  error?: string;
}

/**
 * Lists run directories (those holding summary.json), newest first by
 * directory name. A summary that cannot be read or breaks the schema is
 * listed with its first problem and without a summary.
 */
export function listRuns(reportsDir: string, rootDir: string = REPO_ROOT): RunEntry[] {
  if (!existsSync(reportsDir)) return [];
  return readdirSync(reportsDir)
    .filter((name) => statSync(join(reportsDir, name)).isDirectory() && existsSync(join(reportsDir, name, SUMMARY_FILE)))
    .sort()
    .reverse()
    .map((dir) => {
      const reading = readValidSummary(join(reportsDir, dir), rootDir);
      return reading.summary ? { dir, summary: reading.summary } : { dir, error: reading.problems[0] };
    });
}

function worst(summary: RunSummary, figure: string): number | undefined {
  const values = summary.scenarios.map((scenario) => scenario.figures[figure]).filter((value): value is number => value !== undefined);
  return values.length === 0 ? undefined : Math.max(...values);
}

/** Renders the runs index page. */
export function renderRunsIndex(runs: readonly RunEntry[]): string {
  const table =
    runs.length === 0
      ? '<p class="no-data" data-testid="runs-empty">No runs yet. Run <code>npm run e2e</code> or <code>soma-harness run default</code>.</p>'
      : renderTable(
          runs,
          [
            { header: 'Run', cell: (run) => `<a href="${escapeHtml(run.dir)}/index.html">${escapeHtml(run.dir)}</a>` },
            { header: 'Verdict', cell: (run) => (run.summary ? statusBadge(run.summary.verdict) : statusBadge('unreadable')) },
            { header: 'Suite', cell: (run) => escapeHtml(run.summary?.suite ?? run.error ?? '') },
            { header: 'Target', cell: (run) => escapeHtml(run.summary?.environment.target ?? '') },
            { header: 'Scenarios', cell: (run) => escapeHtml(run.summary?.scenarios.map((scenario) => `${scenario.name} (${scenario.verdict})`).join(', ') ?? '') },
            { header: 'Worst p99', cell: (run) => (run.summary ? formatMs(worst(run.summary, 'latencyP99Ms')) : '-'), numeric: true },
            { header: 'Duration', cell: (run) => (run.summary ? `${formatNumber(run.summary.durationMs / 1000, 1)} s` : '-'), numeric: true },
            { header: 'Git', cell: (run) => `<code>${escapeHtml(run.summary?.environment.gitSha?.slice(0, 10) ?? '')}</code>` },
            { header: 'Files', cell: (run) => `<a href="${escapeHtml(run.dir)}/summary.json">summary.json</a> <a href="${escapeHtml(run.dir)}/junit.xml">junit.xml</a>` },
          ],
          'runs',
        );
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Soma harness runs</title><style>${REPORT_CSS}</style></head>
<body>
<h1>Soma harness runs</h1>
<p class="meta">${runs.length} run(s) in this folder, newest first. <code>soma-harness report</code> rebuilds this page and every run's index.html from its summary.json.</p>
${table}
</body>
</html>
`;
}

/** Writes reports/index.html for the runs in `reportsDir`. */
export function writeRunsIndex(reportsDir: string, rootDir: string = REPO_ROOT): string {
  const path = join(reportsDir, 'index.html');
  writeFileSync(path, renderRunsIndex(listRuns(reportsDir, rootDir)));
  return path;
}
