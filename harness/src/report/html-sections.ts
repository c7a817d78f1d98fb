/**
 * The sections of one scenario in the HTML report, in reading order: verdict,
 * thresholds, invariants, reconciliation per store, time to consistency, lag,
 * load, latency distribution, throughput and the shared timeline.
 */
import { escapeHtml, formatMs, formatNumber, renderNoData, renderTable, statusBadge } from './html-format.js';
import type { ScenarioSummary } from './summary.js';

/** Minimum points a time series needs before it is drawn. */
export const MIN_SERIES_POINTS = 2;

function section(title: string, body: string, id?: string): string {
  return `<section class="block"${id ? ` id="${escapeHtml(id)}"` : ''}><h3>${escapeHtml(title)}</h3>\n${body}\n</section>`;
}

function thresholdsSection(scenario: ScenarioSummary): string {
  if (scenario.thresholds.length === 0) return section('Thresholds', renderNoData(`thresholds-${scenario.name}`, 'The scenario sets no thresholds.'));
  return section(
    'Thresholds',
    renderTable(
      scenario.thresholds,
      [
        { header: 'Threshold', cell: (row) => `<code>${escapeHtml(row.name)}</code>` },
        { header: 'Limit', cell: (row) => `${escapeHtml(row.comparator)} ${formatNumber(row.limit, 2)}`, numeric: true },
        { header: 'Measured', cell: (row) => formatNumber(row.measured, 2), numeric: true },
        { header: 'Status', cell: (row) => statusBadge(row.status) },
        { header: 'Detail', cell: (row) => escapeHtml(row.message) },
      ],
      `thresholds-${scenario.name}`,
    ),
  );
}

function invariantsSection(scenario: ScenarioSummary): string {
  const table = renderTable(
    scenario.verification.checks,
    [
      { header: 'Invariant', cell: (row) => `<code>${escapeHtml(row.name)}</code>` },
      { header: 'Status', cell: (row) => statusBadge(row.status) },
      { header: 'Expected', cell: (row) => escapeHtml(row.evidence.expected), numeric: true },
      { header: 'Found', cell: (row) => escapeHtml(row.evidence.found), numeric: true },
      {
        header: 'Detail and evidence',
        cell: (row) => {
          const sample = row.sample?.length
            ? `<div class="sample">sample: ${row.sample.slice(0, 10).map((entry) => `<code title="${escapeHtml(entry.detail)}">${escapeHtml(entry.id)}</code>`).join(' ')}</div>`
            : '';
          return `${escapeHtml(row.message)}${sample}<div class="where">${escapeHtml(row.evidence.where)}</div>`;
        },
      },
    ],
    `invariants-${scenario.name}`,
  );
  return section('Data invariants', table);
}

function reconciliationSection(scenario: ScenarioSummary): string {
  const { reconciliation } = scenario.verification;
  const stores = renderTable(
    reconciliation.stores,
    [
      { header: 'Store', cell: (row) => escapeHtml(row.store) },
      { header: 'Acknowledged', cell: () => formatNumber(reconciliation.acknowledged, 0), numeric: true },
      { header: 'Records', cell: (row) => formatNumber(row.records, 0), numeric: true },
      { header: 'Present', cell: (row) => formatNumber(row.present, 0), numeric: true },
      { header: 'Missing', cell: (row) => formatNumber(row.missing, 0), numeric: true },
      { header: 'Phantom', cell: (row) => formatNumber(row.phantom, 0), numeric: true },
      { header: 'Duplicated', cell: (row) => formatNumber(row.duplicated, 0), numeric: true },
      { header: 'Payload mismatch', cell: (row) => formatNumber(row.payloadMismatch, 0), numeric: true },
      { header: 'Read with', cell: (row) => `<span class="where">${escapeHtml(row.query)}</span>` },
    ],
    `reconciliation-${scenario.name}`,
  );
  const discrepancies =
    reconciliation.discrepancies.length === 0
      ? `<p data-testid="discrepancies-${escapeHtml(scenario.name)}">Every acknowledged item is in every store with the hash that was sent; no phantom or duplicate.</p>`
      : renderTable(
          reconciliation.discrepancies,
          [
            { header: 'Class', cell: (row) => `<strong>${escapeHtml(row.class)}</strong>` },
            { header: 'Store', cell: (row) => escapeHtml(row.store) },
            { header: 'Count', cell: (row) => formatNumber(row.count, 0), numeric: true },
            { header: 'What', cell: (row) => escapeHtml(row.message) },
            { header: 'Sample ids', cell: (row) => row.sample.map((entry) => `<code title="${escapeHtml(entry.detail)}">${escapeHtml(entry.id)}</code>`).join(' ') },
          ],
          `discrepancies-${scenario.name}`,
        );
  const counts = renderTable(
    scenario.verification.counts,
    [
      { header: 'Store', cell: (row) => escapeHtml(row.store) },
      { header: 'Expected', cell: (row) => formatNumber(row.expected, 0), numeric: true },
      { header: 'Found', cell: (row) => formatNumber(row.found, 0), numeric: true },
      { header: 'Query', cell: (row) => `<span class="where">${escapeHtml(row.where)}</span>` },
      { header: 'Plan', cell: (row) => escapeHtml(row.plan ?? '-') },
    ],
    `counts-${scenario.name}`,
  );
  const status = `<p>Verification ${escapeHtml(scenario.verification.status)} ${formatNumber(scenario.verification.pollMs / 1000, 1)} s after the load, after ${scenario.verification.polls} polls.</p>`;
  return section('Reconciliation per store', `${status}${counts}${stores}${discrepancies}`);
}

function consistencySection(scenario: ScenarioSummary): string {
  const rows = scenario.verification.consistency;
  if (rows.length === 0) return section('Time to consistency', renderNoData(`consistency-${scenario.name}`, 'No store was checked.'));
  const table = renderTable(
    rows,
    [
      { header: 'Store', cell: (row) => escapeHtml(row.store) },
      { header: 'Method', cell: (row) => escapeHtml(row.method === 'per-item' ? 'every item' : 'sampled marker items') },
      { header: 'Markers', cell: (row) => formatNumber(row.markers, 0), numeric: true },
      { header: 'Visible', cell: (row) => formatNumber(row.visible, 0), numeric: true },
      { header: 'p50', cell: (row) => formatMs(row.p50Ms), numeric: true },
      { header: 'p95', cell: (row) => formatMs(row.p95Ms), numeric: true },
      { header: 'p99', cell: (row) => formatMs(row.p99Ms), numeric: true },
      { header: 'max', cell: (row) => formatMs(row.maxMs), numeric: true },
    ],
    `consistency-${scenario.name}`,
  );
  const resolution = rows[0]?.resolutionMs ?? 0;
  return section(
    'Time to consistency (acknowledgement to visible)',
    `${table}<p class="note">Measured by polling every ${formatNumber(resolution, 0)} ms from the start of the load: each value is the time from the acknowledging response to the end of the first poll that found the item, so it can be up to one poll interval above the true time.</p>`,
  );
}

function lagSection(scenario: ScenarioSummary): string {
  const { lag } = scenario.verification;
  if (!lag.checked) return section('Kafka consumer lag', renderNoData(`lag-${scenario.name}`, `Lag was not checked: ${lag.skippedReason ?? 'switched off'}.`));
  const rows = lag.summary.final.flatMap((group) => group.partitions.map((partition) => ({ group: group.group, ...partition })));
  const table = renderTable(
    rows,
    [
      { header: 'Group', cell: (row) => escapeHtml(row.group) },
      { header: 'Partition', cell: (row) => String(row.partition), numeric: true },
      { header: 'Committed', cell: (row) => (row.committed === null ? 'none' : formatNumber(row.committed, 0)), numeric: true },
      { header: 'Low', cell: (row) => formatNumber(row.low, 0), numeric: true },
      { header: 'High', cell: (row) => formatNumber(row.high, 0), numeric: true },
      { header: 'Lag', cell: (row) => formatNumber(row.lag, 0), numeric: true },
    ],
    `lag-${scenario.name}`,
    'Lag per partition in the last sample',
  );
  const summary = lag.summary;
  const facts = `<p>Peak lag ${formatNumber(summary.peakTotal, 0)} messages${summary.peakAtMs === null ? '' : ` at ${formatNumber(summary.peakAtMs / 1000, 1)} s`}; ${
    summary.drained ? `drained ${formatMs(summary.timeToDrainMs)} after the load ended` : '<strong>not drained</strong> when verification ended'
  }; ${summary.samples} samples${lag.errors > 0 ? `, ${lag.errors} failed (${escapeHtml(lag.lastError ?? '')})` : ''}.</p><p class="where">${escapeHtml(lag.where)}</p>`;
  return section('Kafka consumer lag', `${facts}${table}`);
}

function loadSection(scenario: ScenarioSummary): string {
  const { load } = scenario;
  const items = load.items;
  const itemTable = renderTable(
    [items],
    [
      { header: 'Planned', cell: (row) => formatNumber(row.planned, 0), numeric: true },
      { header: 'Sent', cell: (row) => formatNumber(row.sent, 0), numeric: true },
      { header: 'Acknowledged', cell: (row) => formatNumber(row.acknowledged, 0), numeric: true },
      { header: 'Rejected', cell: (row) => formatNumber(row.rejected, 0), numeric: true },
      { header: 'Failed', cell: (row) => formatNumber(row.failed, 0), numeric: true },
      { header: 'Not sent', cell: (row) => formatNumber(row.notSent, 0), numeric: true },
    ],
    `items-${scenario.name}`,
  );
  const statuses = Object.entries(load.requests.byStatus).map(([status, count]) => `${escapeHtml(status)}: ${formatNumber(count, 0)}`).join(', ') || 'none';
  const requests = `<p>${formatNumber(load.requests.total, 0)} requests (${statuses}; ${load.requests.retried} retries, ${load.requests.networkErrors} network errors) in ${formatNumber(load.durationMs / 1000, 2)} s, API mode ${escapeHtml(load.mode)}, engine ${escapeHtml(load.engine)}.</p>`;
  const rejected = load.rejectedSample.length
    ? renderTable(
        load.rejectedSample,
        [
          { header: 'Rejected id', cell: (row) => `<code>${escapeHtml(row.id)}</code>` },
          { header: 'Status', cell: (row) => String(row.status), numeric: true },
          { header: 'Code', cell: (row) => escapeHtml(row.code) },
          { header: 'Message', cell: (row) => escapeHtml(row.message) },
        ],
        `rejected-${scenario.name}`,
      )
    : '';
  const failed = load.failedSample.length
    ? renderTable(
        load.failedSample,
        [
          { header: 'Failed id', cell: (row) => `<code>${escapeHtml(row.id)}</code>` },
          { header: 'Attempts', cell: (row) => String(row.attempts), numeric: true },
          { header: 'Reason', cell: (row) => escapeHtml(row.reason) },
        ],
        `failed-${scenario.name}`,
      )
    : '';
  return section('Load', `${requests}${itemTable}${rejected}${failed}${load.notes.map((note) => `<p class="note">${escapeHtml(note)}</p>`).join('')}`);
}

function latencySection(scenario: ScenarioSummary): string {
  const latency = scenario.load.latency;
  if (latency.count === 0) {
    return section('Latency distribution', renderNoData(`chart-latency-${scenario.name}`, 'No request was answered with 2xx, so there is no latency distribution to draw.'));
  }
  const table = renderTable(
    [latency],
    [
      { header: 'Requests', cell: (row) => formatNumber(row.count, 0), numeric: true },
      { header: 'min', cell: (row) => formatMs(row.minMs), numeric: true },
      { header: 'mean', cell: (row) => formatMs(row.meanMs), numeric: true },
      { header: 'p50', cell: (row) => formatMs(row.p50Ms), numeric: true },
      { header: 'p90', cell: (row) => formatMs(row.p90Ms), numeric: true },
      { header: 'p99', cell: (row) => formatMs(row.p99Ms), numeric: true },
      { header: 'p99.9', cell: (row) => formatMs(row.p999Ms), numeric: true },
      { header: 'max', cell: (row) => formatMs(row.maxMs), numeric: true },
    ],
    `latency-${scenario.name}`,
  );
  const few = latency.count < 100 ? `<p class="note">Only ${latency.count} requests: percentiles above p${Math.floor(100 - 100 / latency.count)} are the slowest request.</p>` : '';
  return section('Latency distribution', `${table}${few}${chartDiv('latency', scenario)}`);
}

function chartDiv(kind: string, scenario: ScenarioSummary): string {
  return `<div class="chart" data-chart="${kind}" data-scenario="${escapeHtml(scenario.name)}" data-testid="chart-${kind}-${escapeHtml(scenario.name)}"></div>`;
}

function throughputSection(scenario: ScenarioSummary): string {
  const buckets = scenario.load.throughput;
  if (buckets.length < MIN_SERIES_POINTS) {
    return section(
      'Throughput over time',
      renderNoData(
        `chart-throughput-${scenario.name}`,
        `The load lasted ${formatNumber(scenario.load.durationMs, 0)} ms, which fills ${buckets.length} one-second bucket(s): too little to draw throughput over time. Overall: ${formatNumber(scenario.figures.acknowledgedItemsPerSecond ?? null, 1)} acknowledged items/s.`,
      ),
    );
  }
  return section('Throughput over time', chartDiv('throughput', scenario));
}

function mean(values: readonly (number | null)[]): number | null {
  const present = values.filter((value): value is number => value !== null);
  return present.length === 0 ? null : present.reduce((sum, value) => sum + value, 0) / present.length;
}

function maximum(values: readonly (number | null)[]): number | null {
  const present = values.filter((value): value is number => value !== null);
  return present.length === 0 ? null : Math.max(...present);
}

/** Renders the consumer processes' /metrics: a table of their figures over the run and two charts on the shared time axis. */
function consumersBlock(scenario: ScenarioSummary): string {
  const consumers = scenario.consumers ?? [];
  if (consumers.length === 0) {
    return `<p class="note" data-testid="consumers-note-${escapeHtml(scenario.name)}">No consumer /metrics were scraped: the target names no consumer metrics URLs${
      scenario.consumers === undefined ? ' (this summary predates consumer scraping)' : ''
    }.</p>`;
  }
  const table = renderTable(
    consumers,
    [
      { header: 'Consumer', cell: (row) => `<code>${escapeHtml(row.component)}</code>` },
      { header: 'Messages/s (mean)', cell: (row) => formatNumber(mean(row.points.map((point) => point.messagesPerSecond)), 1), numeric: true },
      { header: 'Batch size (mean)', cell: (row) => formatNumber(mean(row.points.map((point) => point.meanBatchSize)), 1), numeric: true },
      { header: 'Batch time (max of means)', cell: (row) => formatMs(maximum(row.points.map((point) => point.batchMeanMs))), numeric: true },
      { header: 'Postgres write (max of means)', cell: (row) => formatMs(maximum(row.points.map((point) => point.postgresWriteMeanMs))), numeric: true },
      { header: 'Qdrant write (max of means)', cell: (row) => formatMs(maximum(row.points.map((point) => point.qdrantWriteMeanMs))), numeric: true },
      { header: 'Peak lag', cell: (row) => formatNumber(maximum(row.points.map((point) => point.consumerLag)), 0), numeric: true },
      {
        header: 'Scraped from',
        cell: (row) =>
          `<span class="where">${escapeHtml(row.source)}</span> ${row.points.length} interval(s)${row.failures ? `, ${row.failures} failed (${escapeHtml(row.lastError ?? '')})` : ''}`,
      },
    ],
    `consumers-${scenario.name}`,
    'Consumer processes (their own /metrics)',
  );
  const points = Math.max(...consumers.map((consumer) => consumer.points.length));
  if (points < MIN_SERIES_POINTS) {
    return `${table}${renderNoData(`chart-consumers-${scenario.name}`, `Only ${points} interval(s) scraped from the consumers, too few to draw them over time.`)}`;
  }
  const timed = consumers.some((consumer) =>
    consumer.points.some((point) => [point.meanBatchSize, point.batchMeanMs, point.postgresWriteMeanMs, point.qdrantWriteMeanMs].some((value) => value !== null)),
  );
  const latency = timed
    ? chartDiv('consumer-latency', scenario)
    : renderNoData(`chart-consumer-latency-${scenario.name}`, 'The consumers wrote no batch while they were scraped, so there are no batch sizes or write times to draw.');
  return `${table}${chartDiv('consumers', scenario)}${latency}`;
}

function timelineSection(scenario: ScenarioSummary): string {
  const counts = scenario.verification.countSeries.length;
  const serverPoints = scenario.server.points.length;
  const lagPoints = scenario.verification.lag.series.length;
  const scrapeNote =
    serverPoints < MIN_SERIES_POINTS
      ? `<p class="note" data-testid="server-metrics-note-${escapeHtml(scenario.name)}">Server metrics: ${serverPoints} interval(s) scraped from ${escapeHtml(scenario.server.source)}${
          scenario.server.failures ? ` (${scenario.server.failures} scrapes failed: ${escapeHtml(scenario.server.lastError ?? '')})` : ''
        }, too few to draw the server's series.</p>`
      : '';
  const serverChart =
    Math.max(serverPoints, lagPoints, scenario.load.throughput.length) < MIN_SERIES_POINTS
      ? renderNoData(`chart-server-${scenario.name}`, 'Too few samples of client throughput, server metrics and lag to draw them over time.')
      : chartDiv('server', scenario);
  const cpuChart =
    scenario.harness.samples.length < MIN_SERIES_POINTS
      ? renderNoData(`chart-cpu-${scenario.name}`, `Only ${scenario.harness.samples.length} CPU sample(s) of the harness, too few to draw.`)
      : chartDiv('cpu', scenario);
  const storesChart =
    counts < MIN_SERIES_POINTS
      ? renderNoData(`chart-stores-${scenario.name}`, `Only ${counts} poll(s) of the stores, too few to draw counts over time.`)
      : chartDiv('stores', scenario);
  const actions = scenario.actions.length
    ? renderTable(
        scenario.actions,
        [
          { header: 'Action', cell: (row) => `<code>${escapeHtml(row.action)}</code> ${escapeHtml(JSON.stringify(row.params))}` },
          { header: 'At', cell: (row) => escapeHtml(row.at) },
          { header: 'Started', cell: (row) => (row.startedMs === undefined ? '-' : `${formatNumber(row.startedMs / 1000, 2)} s`), numeric: true },
          { header: 'Finished', cell: (row) => (row.finishedMs === undefined ? '-' : `${formatNumber(row.finishedMs / 1000, 2)} s`), numeric: true },
          { header: 'Status', cell: (row) => statusBadge(row.status) },
          { header: 'Result', cell: (row) => escapeHtml([...row.results, row.error ?? ''].filter(Boolean).join('; ')) },
        ],
        `actions-${scenario.name}`,
        'Actions (dashed lines on the charts)',
      )
    : '';
  return section(
    'Client, server and stores on one timeline',
    `<p class="note">All charts share the time axis (seconds since the scenario started) and the cursor. Harness CPU: mean ${formatNumber(scenario.harness.meanCores, 2)} cores during the load, max ${formatNumber(scenario.harness.maxCores, 2)}${
      scenario.harness.cpuNotJudged ? `; ${escapeHtml(scenario.harness.cpuNotJudged)}` : ''
    }.</p>${actions}${scrapeNote}${serverChart}${consumersBlock(scenario)}${storesChart}${cpuChart}`,
  );
}

function verdictBlock(scenario: ScenarioSummary): string {
  const warnings = (scenario.verification.warnings ?? []).map((warning) => `<p class="note">Warning: ${escapeHtml(warning)}</p>`).join('');
  const reasons = `${
    scenario.reasons.length
      ? `<ul class="reasons">${scenario.reasons.map((reason) => `<li>${escapeHtml(reason)}</li>`).join('')}</ul>`
      : '<p>Every invariant and threshold passed.</p>'
  }${warnings}`;
  return `<div class="scenario-verdict verdict-${escapeHtml(scenario.verdict)}" data-testid="scenario-verdict-${escapeHtml(scenario.name)}">${statusBadge(scenario.verdict)} exit ${scenario.exitCode} ${reasons}</div>`;
}

/** Renders every section of one scenario. */
export function renderScenario(scenario: ScenarioSummary): string {
  const header = `<h2 id="scenario-${escapeHtml(scenario.name)}">Scenario ${escapeHtml(scenario.name)}</h2>
<p class="meta">run_id <code>${escapeHtml(scenario.runId)}</code> · namespace <code>${escapeHtml(scenario.namespace)}</code> · seed <code>${escapeHtml(scenario.settings.load.seed)}</code> · ${escapeHtml(scenario.file)}${
    scenario.description ? `<br>${escapeHtml(scenario.description)}` : ''
  }</p>`;
  return `<article class="scenario" data-scenario="${escapeHtml(scenario.name)}">
${header}
${verdictBlock(scenario)}
${thresholdsSection(scenario)}
${invariantsSection(scenario)}
${reconciliationSection(scenario)}
${consistencySection(scenario)}
${latencySection(scenario)}
${throughputSection(scenario)}
${timelineSection(scenario)}
${lagSection(scenario)}
${loadSection(scenario)}
</article>`;
}
