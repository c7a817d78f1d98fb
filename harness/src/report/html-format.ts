/**
 * Small HTML helpers shared by the report pages: escaping, number formats and
 * tables.
 */

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Formats a number with thousands separators and at most `digits` decimals; `-` for null. */
export function formatNumber(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '-';
  return value.toLocaleString('en-US', { maximumFractionDigits: digits });
}

export function formatMs(value: number | null | undefined): string {
  return value === null || value === undefined ? '-' : `${formatNumber(value, value < 10 ? 2 : 1)} ms`;
}

/** Renders a badge for a status word (passed, failed, skipped, not-measured, a verdict). */
export function statusBadge(status: string): string {
  return `<span class="badge badge-${escapeHtml(status)}">${escapeHtml(status)}</span>`;
}

export interface Column<T> {
  header: string;
  /** Cell HTML (already escaped). */
  cell: (row: T) => string;
  numeric?: boolean;
}

/** Renders a table; `testId` becomes data-testid for tests and automation. */
export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[], testId: string, caption?: string): string {
  const head = columns.map((column) => `<th${column.numeric ? ' class="num"' : ''}>${escapeHtml(column.header)}</th>`).join('');
  const body = rows
    .map((row) => `<tr>${columns.map((column) => `<td${column.numeric ? ' class="num"' : ''}>${column.cell(row)}</td>`).join('')}</tr>`)
    .join('\n');
  const captionHtml = caption ? `<caption>${escapeHtml(caption)}</caption>` : '';
  return `<table data-testid="${escapeHtml(testId)}">${captionHtml}<thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** Renders a paragraph that explains why a chart or table is missing. */
export function renderNoData(testId: string, text: string): string {
  return `<p class="no-data" data-testid="${escapeHtml(testId)}">${escapeHtml(text)}</p>`;
}

/** Serialises `value` for a `<script type="application/json">` block: `<` is escaped so no tag can end it. */
export function embedJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}
