/**
 * Opens the reports of real runs (made by global-setup.ts) from file:// with
 * every network request blocked, and checks that the verdict, the tables and
 * the charts show the numbers in summary.json.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, test, type Page } from '@playwright/test';
import type { RunSummary } from '../../harness/src/report/summary.js';

function runDir(variable: 'SOMA_E2E_PASSED_RUN' | 'SOMA_E2E_FAILED_RUN'): string {
  const dir = process.env[variable];
  if (!dir) throw new Error(`${variable} is not set; global-setup.ts sets it after the harness runs`);
  return dir;
}

function readSummary(dir: string): RunSummary {
  return JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as RunSummary;
}

/** Opens a page from file:// and fails the test on any request that leaves the machine. */
async function openOffline(page: Page, path: string): Promise<string[]> {
  const external: string[] = [];
  await page.route('**/*', async (route) => {
    const url = route.request().url();
    if (url.startsWith('file://')) return route.continue();
    external.push(url);
    return route.abort();
  });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(pathToFileURL(path).href);
  expect(errors, 'no script error').toEqual([]);
  return external;
}

interface CanvasLike {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, width: number, height: number): { data: ArrayLike<number> } } | null;
}

/** Formats a number as the report does (en-US, at most `digits` decimals). */
function formatNumber(value: number, digits: number): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: digits });
}

test('passed run shows verdict, tables and drawn charts', async ({ page }, testInfo) => {
  const dir = runDir('SOMA_E2E_PASSED_RUN');
  const summary = readSummary(dir);
  const external = await openOffline(page, join(dir, 'index.html'));

  await expect(page.getByTestId('verdict-word')).toHaveText(summary.verdict);
  await expect(page.getByTestId('verdict-word')).toHaveText('passed');
  await expect(page.getByTestId('exit-code')).toHaveText(String(summary.exitCode));
  await expect(page.getByTestId('scenario-overview').locator('tbody tr')).toHaveCount(summary.scenarios.length);

  const bulk = summary.scenarios.find((scenario) => scenario.name === 'bulk-1000');
  expect(bulk, 'bulk-1000 in summary.json').toBeTruthy();
  if (!bulk) return;

  const thresholds = page.getByTestId('thresholds-bulk-1000');
  await expect(thresholds).toBeVisible();
  await expect(thresholds.locator('tbody tr')).toHaveCount(bulk.thresholds.length);
  const p99 = bulk.thresholds.find((threshold) => threshold.name === 'latencyP99Ms');
  expect(p99?.measured).not.toBeNull();
  await expect(thresholds.locator('tbody tr', { hasText: 'latencyP99Ms' })).toContainText(formatNumber(p99?.measured ?? 0, 2));

  const invariants = page.getByTestId('invariants-bulk-1000');
  await expect(invariants.locator('tbody tr')).toHaveCount(bulk.verification.checks.length);
  await expect(invariants.locator('.badge-failed')).toHaveCount(0);

  const reconciliation = page.getByTestId('reconciliation-bulk-1000');
  await expect(reconciliation.locator('tbody tr')).toHaveCount(bulk.verification.reconciliation.stores.length);
  for (const store of bulk.verification.reconciliation.stores) {
    const row = reconciliation.locator('tbody tr', { hasText: store.store });
    await expect(row).toContainText(formatNumber(store.present, 0));
  }
  await expect(page.getByTestId('counts-bulk-1000')).toContainText('1,000');
  await expect(page.getByTestId('consistency-bulk-1000')).toContainText('every item');
  await expect(page.getByTestId('latency-bulk-1000')).toContainText(formatNumber(bulk.load.latency.count, 0));

  const consumers = bulk.consumers ?? [];
  expect(consumers.map((consumer) => consumer.component), 'consumer series in summary.json').toEqual(['consumers']);
  expect(consumers[0]?.points.some((point) => (point.messagesPerSecond ?? 0) > 0), 'the consumers wrote during the run').toBe(true);
  const consumerTable = page.getByTestId('consumers-bulk-1000');
  await expect(consumerTable.locator('tbody tr')).toHaveCount(1);
  await expect(consumerTable.locator('tbody tr')).toContainText('consumers');
  await expect(page.getByTestId('chart-consumers-bulk-1000')).toHaveAttribute('data-rendered', 'true');

  const charts = page.locator('.chart[data-chart]');
  const count = await charts.count();
  expect(count, 'charts on the page').toBeGreaterThanOrEqual(3);
  for (let index = 0; index < count; index += 1) {
    const chart = charts.nth(index);
    const name = `${await chart.getAttribute('data-chart')} of ${await chart.getAttribute('data-scenario')}`;
    await expect(chart, name).toHaveAttribute('data-rendered', 'true');
    expect(await chart.getAttribute('data-error'), name).toBeNull();
    expect(Number(await chart.getAttribute('data-points')), `${name} points`).toBeGreaterThan(1);
    const canvas = chart.locator('canvas');
    await expect(canvas, name).toBeVisible();
    const painted = await canvas.evaluate((node) => {
      // The project compiles without the DOM library, so the canvas is typed by the members used here.
      const element = node as unknown as CanvasLike;
      const context = element.getContext('2d');
      if (!context || element.width === 0 || element.height === 0) return 0;
      const pixels = context.getImageData(0, 0, element.width, element.height).data;
      let drawn = 0;
      for (let offset = 3; offset < pixels.length; offset += 4) if ((pixels[offset] ?? 0) > 0) drawn += 1;
      return drawn;
    });
    expect(painted, `${name} has drawn pixels`).toBeGreaterThan(100);
  }
  await expect(page.getByTestId('chart-latency-bulk-1000')).toBeVisible();

  expect(external, 'requests that left the machine').toEqual([]);
  const screenshot = testInfo.outputPath('passed-report.png');
  await page.screenshot({ path: screenshot, fullPage: true });
  await testInfo.attach('passed-report', { path: screenshot, contentType: 'image/png' });
});

test('failed run names the phantom item', async ({ page }, testInfo) => {
  const dir = runDir('SOMA_E2E_FAILED_RUN');
  const summary = readSummary(dir);
  const scenario = summary.scenarios[0];
  expect(scenario).toBeTruthy();
  if (!scenario) return;
  await openOffline(page, join(dir, 'index.html'));

  await expect(page.getByTestId('verdict-word')).toHaveText('invariant-failed');
  await expect(page.getByTestId('exit-code')).toHaveText('3');
  await expect(page.getByTestId('verdict-reasons')).toContainText('phantom: 1 item in postgres');

  const discrepancies = page.getByTestId(`discrepancies-${scenario.name}`);
  await expect(discrepancies.locator('tbody tr')).toHaveCount(scenario.verification.reconciliation.discrepancies.length);
  const phantom = discrepancies.locator('tbody tr', { hasText: 'phantom' });
  await expect(phantom).toContainText('postgres');
  await expect(phantom).toContainText(`${scenario.runId}-phantom-0`);
  await expect(page.getByTestId(`invariants-${scenario.name}`).locator('tbody tr', { hasText: 'items.phantom' }).locator('.badge-failed')).toBeVisible();

  const screenshot = testInfo.outputPath('failed-report.png');
  await page.screenshot({ path: screenshot, fullPage: true });
  await testInfo.attach('failed-report', { path: screenshot, contentType: 'image/png' });
});

test('runs index links both runs', async ({ page }) => {
  const reportsDir = process.env.SOMA_E2E_REPORTS_DIR;
  expect(reportsDir).toBeTruthy();
  const external = await openOffline(page, join(reportsDir ?? '', 'index.html'));
  const rows = page.getByTestId('runs').locator('tbody tr');
  await expect(rows).toHaveCount(2);
  await expect(rows.filter({ hasText: 'invariant-failed' })).toHaveCount(1);
  await rows.filter({ hasText: 'default' }).getByRole('link', { name: /-default$/ }).click();
  await expect(page.getByTestId('verdict-word')).toHaveText('passed');
  expect(external).toEqual([]);
});
