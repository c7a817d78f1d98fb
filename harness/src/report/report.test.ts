import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { renderRunHtml } from './html.js';
import { escapeXml, renderJunit } from './junit.js';
import { renderRunsIndex } from './runs-index.js';
import { sampleScenario, sampleSummary } from './summary-fixture.js';
import { createRunDir, readAcknowledged, validateSummary, writeRunReport } from './write-report.js';
import type { ScenarioSummary } from './summary.js';

const ROOT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

function failingScenario(): ScenarioSummary {
  const scenario = sampleScenario('lost-items');
  scenario.verdict = 'invariant-failed';
  scenario.exitCode = 3;
  scenario.reasons = ['lost: 7 items acknowledged but in no store (postgres, qdrant); sample: a-1, a-2'];
  scenario.verification.checks.push({
    name: 'items.partial',
    status: 'failed',
    message: 'partial: 193 items acknowledged but missing from qdrant',
    evidence: { expected: 0, found: 193, where: 'acknowledged ids vs stores' },
    sample: [{ id: 'a-7', detail: 'qdrant: only in postgres' }],
  });
  scenario.verification.reconciliation.discrepancies.push({
    class: 'lost',
    store: 'all',
    count: 7,
    sample: [{ id: 'a-1', detail: 'acknowledged, in no store' }],
    message: '7 items acknowledged but in no store (postgres, qdrant)',
  });
  scenario.verification.reconciliation.counts.lost = 7;
  return scenario;
}

test('fixture summary matches the report schema', () => {
  assert.deepEqual(validateSummary(sampleSummary(), ROOT_DIR), []);
});

test('schema rejects a summary with an unknown verdict', () => {
  const summary = sampleSummary() as unknown as Record<string, unknown>;
  summary.verdict = 'fine';
  const problems = validateSummary(summary, ROOT_DIR);
  assert.equal(problems.length, 1);
  assert.match(problems[0] ?? '', /summary\.json: \$\.verdict: expected one of "passed"/);
});

test('schema rejects a Postgres URL with its password', () => {
  const summary = sampleSummary();
  summary.environment.postgres = 'postgresql://postgres:secret@127.0.0.1:5432/postgres';
  assert.match(validateSummary(summary, ROOT_DIR).join('\n'), /\$\.environment\.postgres/);
});

test('html puts the verdict first and embeds the run data', () => {
  const html = renderRunHtml(sampleSummary());
  const verdictAt = html.indexOf('data-testid="verdict"');
  assert.ok(verdictAt > 0);
  assert.ok(verdictAt < html.indexOf('data-testid="thresholds-bulk-1000"'));
  assert.ok(html.indexOf('data-testid="thresholds-bulk-1000"') < html.indexOf('data-testid="reconciliation-bulk-1000"'));
  assert.ok(html.indexOf('data-testid="reconciliation-bulk-1000"') < html.indexOf('data-testid="chart-latency-bulk-1000"'));
  assert.match(html, /<script type="application\/json" id="soma-run-data">\{"formatVersion":1/);
});

test('html is self-contained', () => {
  const html = renderRunHtml(sampleSummary());
  assert.doesNotMatch(html, /<script[^>]+src=/);
  assert.doesNotMatch(html, /<link[^>]+stylesheet/);
  assert.doesNotMatch(html, /(?:src|href)\s*=\s*["']https?:/i, 'no external src or href');
  assert.doesNotMatch(html, /url\(\s*['"]?https?:/i, 'no external CSS url()');
  assert.doesNotMatch(html, /@import/i);
  assert.match(html, /uPlot/);
});

test('embedded data cannot close its script element', () => {
  const scenario = sampleScenario();
  scenario.description = '</script><script>alert(1)</script>';
  const html = renderRunHtml(sampleSummary([scenario]));
  const data = html.slice(html.indexOf('id="soma-run-data">'), html.indexOf('</script>', html.indexOf('id="soma-run-data">')));
  assert.doesNotMatch(data, /<\/script/i);
  assert.match(html, /&lt;\/script&gt;/);
});

test('html says why a chart is missing when data is too thin', () => {
  const scenario = sampleScenario('tiny');
  scenario.load.latency = { ...scenario.load.latency, count: 0, distribution: [] };
  scenario.load.throughput = scenario.load.throughput.slice(0, 1);
  scenario.verification.countSeries = scenario.verification.countSeries.slice(0, 1);
  scenario.harness.samples = [];
  const html = renderRunHtml(sampleSummary([scenario]));
  assert.match(html, /data-testid="chart-latency-tiny">No request was answered with 2xx/);
  assert.match(html, /data-testid="chart-throughput-tiny">The load lasted 2,600 ms, which fills 1 one-second bucket/);
  assert.match(html, /data-testid="chart-stores-tiny">Only 1 poll/);
  assert.doesNotMatch(html, /class="chart" data-chart="latency"/);
});

test('html lists discrepancies with sample ids', () => {
  const html = renderRunHtml(sampleSummary([failingScenario()]));
  assert.match(html, /data-testid="discrepancies-lost-items"/);
  assert.match(html, /<strong>lost<\/strong>/);
  assert.match(html, /<code title="acknowledged, in no store">a-1<\/code>/);
});

test('junit has one case per scenario, invariant, threshold and validity', () => {
  const summary = sampleSummary([sampleScenario(), failingScenario()]);
  const xml = renderJunit(summary);
  const cases = xml.match(/<testcase /g) ?? [];
  // Per scenario: the scenario, its checks, its thresholds and validity.
  const expected = summary.scenarios.reduce((sum, scenario) => sum + 2 + scenario.verification.checks.length + scenario.thresholds.length, 0);
  assert.equal(cases.length, expected);
  assert.match(xml, /<testsuite name="default\.lost-items" tests="\d+" failures="2"/);
  assert.match(xml, /<testcase name="invariant items\.partial" classname="soma\.default\.lost-items" time="0\.000">\n\s+<failure type="invariant" message="partial: 193 items/);
  assert.match(xml, /found: 193\nwhere: acknowledged ids vs stores\nsample:\n {2}a-7/);
  assert.ok(parseDocument(`x: ${JSON.stringify(xml)}`).errors.length === 0);
});

test('junit escapes markup and control characters', () => {
  assert.equal(escapeXml('a<b & "c"\u0001'), 'a&lt;b &amp; &quot;c&quot;');
});

test('runs index lists runs newest first', () => {
  const older = { dir: '20261204-100000-default', summary: sampleSummary() };
  const newer = { dir: '20261204-110000-default', summary: { ...sampleSummary(), verdict: 'invariant-failed' as const } };
  const html = renderRunsIndex([newer, older]);
  assert.ok(html.indexOf(newer.dir) < html.indexOf(older.dir));
  assert.match(html, /<a href="20261204-110000-default\/index\.html">/);
  assert.match(html, /badge-invariant-failed/);
});

test('runs index without runs says how to make one', () => {
  assert.match(renderRunsIndex([]), /No runs yet/);
});

test('report writer creates every file and the runs index', () => {
  const reportsDir = mkdtempSync(join(tmpdir(), 'soma-reports-'));
  const summary = sampleSummary();
  const runDir = createRunDir(reportsDir, summary.suite, new Date('2026-12-04T12:00:00Z'));
  assert.match(runDir, /20261204-120000-default$/);
  const acknowledged = [{ id: 'x-1', seq: 0, ackAtMs: 1, expectedHash: 'h' }];
  const written = writeRunReport(runDir, summary, new Map([['bulk-1000', acknowledged]]), ROOT_DIR, reportsDir);
  assert.deepEqual(written.schemaProblems, []);
  for (const file of ['index.html', 'summary.json', 'junit.xml', 'acks/bulk-1000.ndjson']) {
    assert.ok(existsSync(join(runDir, file)), `${file} written`);
  }
  assert.deepEqual(readAcknowledged(join(runDir, 'acks/bulk-1000.ndjson')), acknowledged);
  assert.match(readFileSync(join(reportsDir, 'index.html'), 'utf8'), /20261204-120000-default/);
  assert.match(createRunDir(reportsDir, summary.suite, new Date('2026-12-04T12:00:00Z')), /20261204-120000-default-2$/);
});

test('html names the Qdrant stand-in in the environment', () => {
  const html = renderRunHtml(sampleSummary());
  assert.match(html, /data-testid="stand-ins">Stand-in, not the real component: qdrant is soma qdrant-edge stand-in \(qdrant-edge-py 0\.9\.0\)\.<\/p>/);
  assert.match(html, /<td>qdrant \(stand-in\)<\/td><td>soma qdrant-edge stand-in \(qdrant-edge-py 0\.9\.0\)<\/td>/);
  assert.match(html, /<td>qdrant version<\/td><td>soma qdrant-edge stand-in \(qdrant-edge-py 0\.9\.0\), a stand-in that speaks the REST API of qdrant - vector search engine 1\.19\.0<\/td>/);
});

test('html without stand-ins has no stand-in note', () => {
  const summary = sampleSummary();
  delete summary.environment.standIns;
  assert.deepEqual(validateSummary(summary, ROOT_DIR), [], 'older summaries without standIns stay valid');
  assert.doesNotMatch(renderRunHtml(summary), /data-testid="stand-ins"/);
});

test('html shows each consumer next to the API', () => {
  const html = renderRunHtml(sampleSummary());
  const table = html.slice(html.indexOf('data-testid="consumers-bulk-1000"'), html.indexOf('</table>', html.indexOf('data-testid="consumers-bulk-1000"')));
  assert.match(table, /<code>kv-writer<\/code><\/td><td class="num">360<\/td><td class="num">90<\/td><td class="num">9\.5 ms<\/td><td class="num">6\.25 ms<\/td><td class="num">-<\/td><td class="num">40<\/td>/);
  assert.match(table, /<code>vector-indexer<\/code><\/td><td class="num">333\.3<\/td>/);
  assert.match(html, /class="chart" data-chart="consumers" data-scenario="bulk-1000"/);
  assert.match(html, /class="chart" data-chart="consumer-latency" data-scenario="bulk-1000"/);
  assert.ok(html.indexOf('data-chart="server"') < html.indexOf('data-chart="consumers"'), 'the consumers follow the API on the timeline');
});

test('html without consumer metrics says so', () => {
  const scenario = sampleScenario();
  scenario.consumers = [];
  assert.match(renderRunHtml(sampleSummary([scenario])), /data-testid="consumers-note-bulk-1000">No consumer \/metrics were scraped/);
});

test('schema accepts an interrupted run', () => {
  const scenario = sampleScenario();
  scenario.verdict = 'interrupted';
  scenario.exitCode = 130;
  scenario.reasons = ['interrupted by SIGINT: the figures cover only the part that ran, and no invariant was judged'];
  const summary = sampleSummary([scenario]);
  summary.verdict = 'interrupted';
  summary.exitCode = 130;
  assert.deepEqual(validateSummary(summary, ROOT_DIR), []);
  assert.match(renderRunHtml(summary), /class="verdict verdict-interrupted"/);
  assert.match(renderJunit(summary), /<failure type="interrupted" message="interrupted \(exit 130\)">/);
});

test('html shows why the harness CPU was not judged', () => {
  const scenario = sampleScenario();
  scenario.harness.cpuNotJudged = 'harness CPU not judged: the load lasted 0.1 s with 1 CPU sample(s), and saturation is judged only over at least 2 s and 4 samples';
  const summary = sampleSummary([scenario]);
  assert.deepEqual(validateSummary(summary, ROOT_DIR), []);
  assert.match(renderRunHtml(summary), /max 0\.35; harness CPU not judged: the load lasted 0\.1 s with 1 CPU sample\(s\)/);
});

test('html shows verification warnings under the verdict', () => {
  const scenario = sampleScenario();
  scenario.verification.warnings = ['Kafka lag could not be read in 4 of 4 samples (4 in a row, the last one included): broker down'];
  const summary = sampleSummary([scenario]);
  assert.deepEqual(validateSummary(summary, ROOT_DIR), []);
  assert.match(renderRunHtml(summary), /<p class="note">Warning: Kafka lag could not be read in 4 of 4 samples/);
});
