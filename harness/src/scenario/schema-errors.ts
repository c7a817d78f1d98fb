/**
 * Turns ajv errors into problems that name the JSON path and what was expected,
 * and locates them in the YAML source when there is one.
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { isMap, isPair, isScalar, type Document, type LineCounter } from 'yaml';

/** One schema violation: where it is and what was expected there. */
export interface SchemaProblem {
  /** JSON path such as `$.scenarios[1].load.chunkSize`. */
  path: string;
  /** Expectation of the schema and the value found. */
  message: string;
  /** 1-based position in the source file, when known. */
  line?: number;
  column?: number;
}

// ajv-formats is CommonJS; under NodeNext its default import is the module object.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/** Compiles a JSON Schema file with all errors collected and the failing data kept for messages. */
export function compileSchemaFile(schemaPath: string): ValidateFunction {
  const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, strictRequired: false, allowUnionTypes: true });
  addFormats(ajv);
  const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as object;
  return ajv.compile(schema);
}

function pathSegments(instancePath: string): string[] {
  if (instancePath === '') return [];
  return instancePath
    .slice(1)
    .split('/')
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Formats JSON Pointer segments as a JSON path: `$.scenarios[1].load`. */
export function formatJsonPath(segments: readonly (string | number)[]): string {
  let path = '$';
  for (const segment of segments) {
    if (typeof segment === 'number' || /^[0-9]+$/.test(segment)) path += `[${segment}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(segment)) path += `.${segment}`;
    else path += `[${JSON.stringify(segment)}]`;
  }
  return path;
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  // YAML's .nan and .inf become NaN and Infinity, which JSON.stringify would write as null.
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  const text = JSON.stringify(value);
  if (Array.isArray(value) && text.length > 60) return `a list of ${value.length}`;
  if (typeof value === 'object' && text.length > 60) return 'an object';
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function schemaDescription(error: ErrorObject): string | undefined {
  const parent = error.parentSchema as { description?: unknown } | undefined;
  return typeof parent?.description === 'string' ? parent.description : undefined;
}

function expectation(error: ErrorObject): { extraSegment?: string; text: string } {
  const params = error.params as Record<string, unknown>;
  const found = `found ${describeValue(error.data)}`;
  switch (error.keyword) {
    case 'required':
      return { extraSegment: String(params.missingProperty), text: 'missing; this property is required' };
    case 'additionalProperties': {
      const properties = (error.parentSchema as { properties?: object } | undefined)?.properties ?? {};
      const allowed = Object.keys(properties).join(', ');
      return { extraSegment: String(params.additionalProperty), text: `unknown property; expected one of: ${allowed}` };
    }
    case 'type':
      return { text: `expected ${String(params.type).split(',').join(' or ')}, ${found}` };
    case 'enum':
      return { text: `expected one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}, ${found}` };
    case 'const':
      return { text: `expected ${JSON.stringify(params.allowedValue)}, ${found}` };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return { text: `expected a number ${String(params.comparison)} ${String(params.limit)}, ${found}` };
    case 'pattern':
      return { text: `expected ${schemaDescription(error) ?? `a string matching ${String(params.pattern)}`}, ${found}` };
    case 'minItems':
      return { text: `expected at least ${String(params.limit)} entries, ${found}` };
    case 'uniqueItems':
      return { text: `expected no repeated entries; entries ${String(params.j)} and ${String(params.i)} are equal` };
    case 'minLength':
      return { text: `expected at least ${String(params.limit)} characters, ${found}` };
    case 'maxLength':
      return { text: `expected at most ${String(params.limit)} characters, ${found}` };
    case 'anyOf':
    case 'oneOf':
      return { text: `expected ${schemaDescription(error) ?? 'a value matching one of the allowed forms'}, ${found}` };
    default:
      return { text: `${error.message ?? 'is invalid'}, ${found}` };
  }
}

function allowedValues(error: ErrorObject): unknown[] | undefined {
  const params = error.params as { allowedValues?: unknown[]; allowedValue?: unknown };
  if (error.keyword === 'enum') return params.allowedValues;
  if (error.keyword === 'const') return [params.allowedValue];
  return undefined;
}

/** Returns whether `error` allows only values that another enum or const error on the same value also allows. */
function isNarrowerChoice(error: ErrorObject, errors: readonly ErrorObject[]): boolean {
  const allowed = allowedValues(error);
  if (!allowed) return false;
  return errors.some((other) => {
    const wider = other === error || other.instancePath !== error.instancePath ? undefined : allowedValues(other);
    return wider !== undefined && wider.length > allowed.length && allowed.every((value) => wider.some((entry) => Object.is(entry, value)));
  });
}

/**
 * Drops errors that only restate others: `if` failures (the `then` branch
 * reports the cause), the branch errors under a failed `anyOf`/`oneOf`, and a
 * list of allowed values that a longer list on the same value contains. An
 * unknown `engine`, for one, fails both the list of every engine and the
 * shorter list of the branch its `if` picked, and only the first is useful.
 */
function dropRedundantErrors(errors: readonly ErrorObject[]): ErrorObject[] {
  const combinators = errors.filter((error) => error.keyword === 'anyOf' || error.keyword === 'oneOf');
  return errors.filter((error) => {
    if (error.keyword === 'if') return false;
    if (isNarrowerChoice(error, errors)) return false;
    return !combinators.some(
      (combinator) => combinator !== error && error.schemaPath.startsWith(`${combinator.schemaPath}/`),
    );
  });
}

/** Converts ajv errors to problems with JSON paths and expectations, in document order. */
export function toSchemaProblems(errors: readonly ErrorObject[] | null | undefined): SchemaProblem[] {
  const problems = dropRedundantErrors(errors ?? []).map((error) => {
    const segments: string[] = pathSegments(error.instancePath);
    const { extraSegment, text } = expectation(error);
    if (extraSegment !== undefined) segments.push(extraSegment);
    return { path: formatJsonPath(segments), message: text };
  });
  const seen = new Set<string>();
  return problems.filter((problem) => {
    const key = `${problem.path} ${problem.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function parsePath(path: string): (string | number)[] {
  const segments: (string | number)[] = [];
  const pattern = /\.([A-Za-z_$][A-Za-z0-9_$-]*)|\[([0-9]+)\]|\[("(?:[^"\\]|\\.)*")\]/g;
  for (const match of path.slice(1).matchAll(pattern)) {
    if (match[1] !== undefined) segments.push(match[1]);
    else if (match[2] !== undefined) segments.push(Number(match[2]));
    else if (match[3] !== undefined) segments.push(JSON.parse(match[3]) as string);
  }
  return segments;
}

/**
 * Finds the source offset of the deepest YAML node on `path`: the key of a
 * property when it exists (so unknown properties point at their key), else the
 * closest existing parent.
 */
function findOffset(document: Document, path: string): number | undefined {
  let node: unknown = document.contents;
  let offset = (node as { range?: [number, number, number] } | null)?.range?.[0];
  for (const segment of parsePath(path)) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && item.key.value === segment);
      if (!pair) break;
      offset = (pair.key as { range?: [number, number, number] }).range?.[0] ?? offset;
      node = pair.value;
    } else if (node && typeof node === 'object' && 'items' in node && typeof segment === 'number') {
      node = (node as { items: unknown[] }).items[segment];
      if (!node) break;
      offset = (node as { range?: [number, number, number] }).range?.[0] ?? offset;
    } else {
      break;
    }
  }
  return offset;
}

/** Adds 1-based line and column numbers from the YAML source to each problem. */
export function locateProblems(
  problems: SchemaProblem[],
  document: Document,
  lineCounter: LineCounter,
): SchemaProblem[] {
  return problems.map((problem) => {
    const offset = findOffset(document, problem.path);
    if (offset === undefined) return problem;
    const { line, col } = lineCounter.linePos(offset);
    return { ...problem, line, column: col };
  });
}

/** Formats a problem as `file:line:column: path: message`. */
export function formatProblem(file: string, problem: SchemaProblem): string {
  const position = problem.line !== undefined ? `:${problem.line}:${problem.column ?? 1}` : '';
  return `${file}${position}: ${problem.path}: ${problem.message}`;
}
