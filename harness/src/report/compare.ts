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
  /** Relative change in percent; null when the base is 0 or a side is missing. */
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

function formatValue(value: number, kind: FigureKind): string {
  const rounded = Math.round(value * 100) / 100;
  return kind.unit === 'ms' ? `${rounded} ms` : `${rounded}/s`;
}

function compareOne(figure: string, base: number, current: number, kind: FigureKind, tolerance: number, minDeltaMs: number): FigureComparison {
  const changePercent = base === 0 ? null : ((current - base) / Math.abs(base)) * 100;
  const delta = current - base;
  const worse = kind.direction === 'lower-is-better' ? delta > 0 : delta < 0;
  const beyondTolerance =
    base === 0 ? delta !== 0 : Math.abs(delta) > (Math.abs(base) * tolerance) / 100;
  const aboveNoise = kind.unit !== 'ms' || Math.abs(delta) >= minDeltaMs;
  let status: FigureComparison['status'] = 'ok';
  if (beyondTolerance && aboveNoise) status = worse ? 'regressed' : 'improved';
  const change = changePercent === null ? 'from 0' : `${changePercent >= 0 ? '+' : ''}${changePercent.toFixed(1)}%`;
  return {
    figure,
    base,
    current,
    changePercent: changePercent === null ? null : Math.round(changePercent * 10) / 10,
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
