/**
 * Compares the figures of two result files (run summaries or bench results)
 * with tolerances. A figure's name says its unit and direction: names ending
 * in `PerSecond` are higher-is-better, names ending in `Ms` lower-is-better.
 */

export type FigureCategory = 'latency' | 'throughput' | 'consistency' | 'drain' | 'other';

export interface FigureKind {
  category: FigureCategory;
  direction: 'lower-is-better' | 'higher-is-better';
  unit: 'ms' | 'per second';
}

/** Classifies a figure by its name; undefined for names that are no comparable figure (counts, cores). */
export function classifyFigure(name: string): FigureKind | undefined {
  if (/PerSecond$/.test(name)) return { category: 'throughput', direction: 'higher-is-better', unit: 'per second' };
  if (!/Ms$/.test(name)) return undefined;
  const lower = name.toLowerCase();
  let category: FigureCategory = 'other';
  if (lower.includes('latency')) category = 'latency';
  else if (lower.includes('consistency')) category = 'consistency';
  else if (lower.includes('drain')) category = 'drain';
  return { category, direction: 'lower-is-better', unit: 'ms' };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function elementKey(element: unknown, index: number): string {
  if (isRecord(element)) {
    for (const key of ['name', 'id', 'label']) {
      const value = element[key];
      if (typeof value === 'string' || typeof value === 'number') return String(value);
    }
  }
  return String(index);
}

function join(prefix: string, key: string): string {
  return prefix ? `${prefix}.${key}` : key;
}

function hasFiguresObject(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasFiguresObject);
  if (!isRecord(value)) return false;
  return isRecord(value.figures) || Object.values(value).some(hasFiguresObject);
}

/**
 * Collects comparable figures by path. When the document has `figures`
 * objects (as run summaries do) only those count, keyed by where they sit,
 * e.g. `scenarios[bulk-1000].latencyP99Ms`. Otherwise every number whose key
 * classifies as a figure counts, so bench results compare without changes.
 * Array elements are keyed by their `name`, `id` or `label`, else by index.
 */
export function collectFigures(document: unknown): Map<string, number> {
  const figures = new Map<string, number>();
  const onlyFiguresObjects = hasFiguresObject(document);

  const visit = (value: unknown, path: string): void => {
    if (Array.isArray(value)) {
      value.forEach((element, index) => visit(element, `${path}[${elementKey(element, index)}]`));
      return;
    }
    if (!isRecord(value)) return;
    for (const [key, child] of Object.entries(value)) {
      if (onlyFiguresObjects && key === 'figures' && isRecord(child)) {
        for (const [name, figure] of Object.entries(child)) {
          if (typeof figure === 'number' && classifyFigure(name)) figures.set(join(path, name), figure);
        }
        continue;
      }
      if (!onlyFiguresObjects && typeof child === 'number' && classifyFigure(key)) {
        figures.set(join(path, key), child);
        continue;
      }
      visit(child, join(path, key));
    }
  };
  visit(document, '');
  return figures;
}

export type Tolerances = Record<FigureCategory, number>;

/** Default tolerances in percent of the base value. */
export const DEFAULT_TOLERANCES: Tolerances = { latency: 15, throughput: 10, consistency: 20, drain: 20, other: 20 };
/** Changes of a millisecond figure smaller than this are never a regression (timer and poll noise). */
export const DEFAULT_MIN_DELTA_MS = 2;

export interface FigureComparison {
  figure: string;
  base: number | null;
  current: number | null;
  /** Relative change in percent; null when the base is 0, a side is missing or the change overflows. */
  changePercent: number | null;
  tolerancePercent: number;
  kind: FigureKind;
  status: 'ok' | 'regressed' | 'improved' | 'only-in-base' | 'only-in-current';
  message: string;
}

export interface CompareOptions {
  tolerances?: Partial<Tolerances>;
  minDeltaMs?: number;
}

function lastSegment(path: string): string {
  const match = /([A-Za-z0-9_]+)$/.exec(path);
  return match?.[1] ?? path;
}

/** Rounds to `digits` decimals; a value too large to scale is returned as it is. */
function roundTo(value: number, digits: number): number {
  const scale = 10 ** digits;
  const rounded = Math.round(value * scale) / scale;
  return Number.isFinite(rounded) ? rounded : value;
}

function formatValue(value: number, kind: FigureKind): string {
  const rounded = roundTo(value, 2);
  return kind.unit === 'ms' ? `${rounded} ms` : `${rounded}/s`;
}

/**
 * Lists the figures of a document that cannot be compared: not finite (JSON
 * such as 1e309 parses to Infinity) or negative, which no latency, duration or
 * rate can be. Each entry names the figure's path and value.
 */
export function findInvalidFigures(document: unknown): string[] {
  const problems: string[] = [];
  for (const [figure, value] of collectFigures(document)) {
    if (!Number.isFinite(value)) problems.push(`${figure} is ${value}, expected a finite number`);
    else if (value < 0) problems.push(`${figure} is ${value}, expected 0 or more`);
  }
  return problems;
}

function describeChange(changePercent: number | null, base: number): string {
  if (base === 0) return 'from 0';
  if (changePercent === null) return 'a change too large to express in percent';
  return `${changePercent >= 0 ? '+' : ''}${changePercent.toFixed(1)}%`;
}

function compareOne(figure: string, base: number, current: number, kind: FigureKind, tolerance: number, minDeltaMs: number): FigureComparison {
  const delta = current - base;
  // The ratio, not `base * tolerance`, is compared with the tolerance, because
  // that product overflows to Infinity for bases near Number.MAX_VALUE. The
  // ratio itself overflows only for a change beyond any tolerance.
  const ratio = base === 0 ? null : delta / Math.abs(base);
  const finiteRatio = ratio !== null && Number.isFinite(ratio) ? ratio : null;
  const changePercent = finiteRatio === null || !Number.isFinite(finiteRatio * 100) ? null : finiteRatio * 100;
  const worse = kind.direction === 'lower-is-better' ? delta > 0 : delta < 0;
  const beyondTolerance = ratio === null ? delta !== 0 : finiteRatio === null || Math.abs(finiteRatio) > tolerance / 100;
  const aboveNoise = kind.unit !== 'ms' || Math.abs(delta) >= minDeltaMs;
  let status: FigureComparison['status'] = 'ok';
  if (beyondTolerance && aboveNoise) status = worse ? 'regressed' : 'improved';
  const change = describeChange(changePercent, base);
  return {
    figure,
    base,
    current,
    changePercent: changePercent === null ? null : roundTo(changePercent, 1),
    tolerancePercent: tolerance,
    kind,
    status,
    message: `${figure}: ${formatValue(current, kind)} now vs ${formatValue(base, kind)} in base (${change}, tolerance ${tolerance}%, ${kind.direction})`,
  };
}

/** Compares every figure present in either document. */
export function compareFigures(baseDocument: unknown, currentDocument: unknown, options: CompareOptions = {}): FigureComparison[] {
  const tolerances = { ...DEFAULT_TOLERANCES, ...options.tolerances };
  const minDeltaMs = options.minDeltaMs ?? DEFAULT_MIN_DELTA_MS;
  const base = collectFigures(baseDocument);
  const current = collectFigures(currentDocument);
  const names = [...new Set([...base.keys(), ...current.keys()])].sort();
  return names.map((figure) => {
    const kind = classifyFigure(lastSegment(figure)) as FigureKind;
    const tolerance = tolerances[kind.category];
    const baseValue = base.get(figure);
    const currentValue = current.get(figure);
    if (baseValue === undefined || currentValue === undefined) {
      const side = baseValue === undefined ? 'only-in-current' : 'only-in-base';
      return {
        figure,
        base: baseValue ?? null,
        current: currentValue ?? null,
        changePercent: null,
        tolerancePercent: tolerance,
        kind,
        status: side,
        message: `${figure}: only in the ${side === 'only-in-base' ? 'base' : 'current'} file, not compared`,
      };
    }
    return compareOne(figure, baseValue, currentValue, kind, tolerance, minDeltaMs);
  });
}
