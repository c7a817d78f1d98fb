/**
 * The run's index.html: one self-contained file (uPlot's JS and CSS inlined,
 * the run data embedded as JSON) that opens from file:// with no network.
 * Tables are rendered here, so they read without JavaScript; charts are drawn
 * in the browser by client.js.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderScenario } from './html-sections.js';
import { embedJson, escapeHtml, formatMs, formatNumber, renderTable, statusBadge } from './html-format.js';
import type { RunSummary } from './summary.js';

export interface ReportAssets {
  uplotJs: string;
  uplotCss: string;
  clientJs: string;
}

let cachedAssets: ReportAssets | undefined;

/** Reads uPlot (from node_modules) and the chart script once per process. */
export function loadReportAssets(): ReportAssets {
  if (cachedAssets) return cachedAssets;
  const require = createRequire(import.meta.url);
  const uplotDir = join(dirname(require.resolve('uplot/package.json')), 'dist');
  cachedAssets = {
    uplotJs: readFileSync(join(uplotDir, 'uPlot.iife.min.js'), 'utf8'),
    uplotCss: readFileSync(join(uplotDir, 'uPlot.min.css'), 'utf8'),
    clientJs: readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'client.js'), 'utf8'),
  };
  return cachedAssets;
}

/** Makes script text safe inside a `<script>` element. */
function inlineScript(text: string): string {
  return text.replace(/<\/script/gi, '<\\/script');
}

export const REPORT_CSS = `
:root { color-scheme: light; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #111827; }
body { margin: 0 auto; max-width: 1200px; padding: 16px 24px 48px; line-height: 1.45; }
h1 { font-size: 1.6rem; margin: 0.2em 0; } h2 { margin-top: 2.2em; border-bottom: 2px solid #e5e7eb; padding-bottom: 4px; }
h3 { margin: 1.4em 0 0.5em; font-size: 1.1rem; }
table { border-collapse: collapse; margin: 8px 0 12px; font-size: 0.9rem; width: 100%; }
th, td { border: 1px solid #e5e7eb; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f3f4f6; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
code { font-size: 0.85em; background: #f3f4f6; padding: 0 3px; border-radius: 3px; }
.where { color: #4b5563; font-size: 0.8rem; font-family: ui-monospace, monospace; word-break: break-all; }
.note, .meta { color: #4b5563; font-size: 0.88rem; }
.no-data { background: #fefce8; border: 1px solid #fde68a; padding: 8px 12px; border-radius: 6px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 0.8rem; font-weight: 600; background: #e5e7eb; }
.badge-passed { background: #dcfce7; color: #166534; } .badge-failed, .badge-invariant-failed, .badge-error { background: #fee2e2; color: #991b1b; }
.badge-threshold-failed { background: #ffedd5; color: #9a3412; } .badge-invalid { background: #ede9fe; color: #5b21b6; }
.badge-interrupted { background: #fef9c3; color: #854d0e; }
.badge-skipped, .badge-not-measured { background: #f3f4f6; color: #4b5563; }
.verdict { padding: 16px 20px; border-radius: 8px; margin: 12px 0 20px; border: 2px solid; }
.verdict .word { font-size: 1.8rem; font-weight: 700; text-transform: uppercase; letter-spacing: 0.03em; }
.verdict-passed { background: #f0fdf4; border-color: #16a34a; } .verdict-threshold-failed { background: #fff7ed; border-color: #ea580c; }
.verdict-invariant-failed, .verdict-error { background: #fef2f2; border-color: #dc2626; } .verdict-invalid { background: #f5f3ff; border-color: #7c3aed; }
.verdict-interrupted { background: #fefce8; border-color: #ca8a04; }
.scenario-verdict { padding: 8px 12px; border-radius: 6px; border-left: 6px solid; margin: 8px 0; }
.reasons { margin: 6px 0 0; }
.chart { margin: 12px 0; min-height: 300px; }
.sample { margin-top: 4px; }
nav a { margin-right: 12px; }
`;

function renderVerdict(summary: RunSummary): string {
  const reasons = summary.reasons.length
    ? `<ul class="reasons" data-testid="verdict-reasons">${summary.reasons.map((reason) => `<li>${escapeHtml(reason)}</li>`).join('')}</ul>`
    : '<p data-testid="verdict-reasons">Every scenario passed its data invariants and thresholds.</p>';
  return `<div class="verdict verdict-${escapeHtml(summary.verdict)}" data-testid="verdict">
<div><span class="word" data-testid="verdict-word">${escapeHtml(summary.verdict)}</span> · exit code <strong data-testid="exit-code">${summary.exitCode}</strong></div>
${reasons}
</div>`;
}

function renderOverview(summary: RunSummary): string {
  return renderTable(
    summary.scenarios,
    [
      { header: 'Scenario', cell: (row) => `<a href="#scenario-${escapeHtml(row.name)}">${escapeHtml(row.name)}</a>` },
      { header: 'Verdict', cell: (row) => statusBadge(row.verdict) },
      { header: 'Acknowledged', cell: (row) => `${formatNumber(row.load.items.acknowledged, 0)} / ${formatNumber(row.load.items.planned, 0)}`, numeric: true },
      { header: 'p99 latency', cell: (row) => formatMs(row.figures.latencyP99Ms), numeric: true },
      { header: 'Items/s', cell: (row) => formatNumber(row.figures.acknowledgedItemsPerSecond, 1), numeric: true },
      { header: 'Consistency p99', cell: (row) => formatMs(row.figures.consistencyP99Ms), numeric: true },
      { header: 'Lag drained in', cell: (row) => formatMs(row.figures.lagDrainMs), numeric: true },
      { header: 'Duration', cell: (row) => `${formatNumber(row.durationMs / 1000, 1)} s`, numeric: true },
    ],
    'scenario-overview',
  );
}

function renderEnvironment(summary: RunSummary): string {
  const env = summary.environment;
  const standIns = Object.entries(env.standIns ?? {}).map(([name, standIn]): [string, string] => [`${name} (stand-in)`, standIn]);
  const rows: [string, string][] = [
    ['Target', env.target],
    ...standIns,
    ['API', env.apiUrl],
    ['Postgres', env.postgres],
    ['Qdrant', env.qdrantUrl],
    ['Kafka brokers', env.kafkaBrokers.join(', ') || '-'],
    ['Topic and groups', `${env.topic}: ${env.consumerGroups.join(', ')}`],
    ['Default namespace', env.defaultNamespace],
    ['Git', `${env.gitSha ?? 'unknown'}${env.gitDirty ? ' (uncommitted changes)' : ''}`],
    ['Harness', `soma-harness ${env.harnessVersion}, Node ${env.nodeVersion}, ${env.platform}, ${env.cpus} CPUs`],
    ...Object.entries(env.backendVersions).map(([name, version]): [string, string] => [`${name} version`, version]),
    ['Command', env.command],
    ['Scenario files', summary.files.join(', ')],
  ];
  const table = renderTable(rows, [{ header: 'Setting', cell: (row) => escapeHtml(row[0]) }, { header: 'Value', cell: (row) => escapeHtml(row[1]) }], 'environment');
  const standInNote =
    standIns.length > 0
      ? `<p class="note" data-testid="stand-ins">Stand-in, not the real component: ${Object.entries(env.standIns ?? {}).map(([name, standIn]) => `${escapeHtml(name)} is ${escapeHtml(standIn)}`).join('; ')}.</p>`
      : '';
  const settings = summary.scenarios
    .map((scenario) => `<details><summary>Settings of ${escapeHtml(scenario.name)}</summary><pre>${escapeHtml(JSON.stringify(scenario.settings, null, 2))}</pre></details>`)
    .join('\n');
  const logs = summary.logs.length
    ? `<p>Logs: ${summary.logs.map((log) => `<a href="${escapeHtml(log)}">${escapeHtml(log)}</a>`).join(', ')}</p>`
    : '<p>No logs were collected from the target.</p>';
  return `<h2 id="environment">Environment</h2>${standInNote}${table}${settings}${logs}`;
}

/** Renders the complete, self-contained report page. */
export function renderRunHtml(summary: RunSummary, assets: ReportAssets = loadReportAssets()): string {
  const title = `Soma run ${summary.suite} ${summary.startedAt}`;
  const nav = summary.scenarios.map((scenario) => `<a href="#scenario-${escapeHtml(scenario.name)}">${escapeHtml(scenario.name)}</a>`).join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${assets.uplotCss}</style>
<style>${REPORT_CSS}</style>
</head>
<body>
<header>
<p class="meta"><a href="../index.html">All runs</a> · <a href="summary.json">summary.json</a> · <a href="junit.xml">junit.xml</a></p>
<h1>Suite ${escapeHtml(summary.suite)}</h1>
<p class="meta">Started ${escapeHtml(summary.startedAt)}, ${formatNumber(summary.durationMs / 1000, 1)} s, target ${escapeHtml(summary.environment.target)}${summary.description ? ` · ${escapeHtml(summary.description)}` : ''}</p>
</header>
${renderVerdict(summary)}
<nav>${nav}<a href="#environment">environment</a></nav>
${renderOverview(summary)}
${summary.scenarios.map(renderScenario).join('\n')}
${renderEnvironment(summary)}
<script type="application/json" id="soma-run-data">${embedJson(summary)}</script>
<script>${inlineScript(assets.uplotJs)}</script>
<script>${inlineScript(assets.clientJs)}</script>
</body>
</html>
`;
}
