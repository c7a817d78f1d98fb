/**
 * Reads suite and scenario YAML files, validates them against
 * schemas/scenario.schema.json and returns one typed suite. Every problem in
 * every file is reported at once, before any load is sent.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, isAbsolute, join, relative, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ValidateFunction } from 'ajv';
import { LineCounter, parseDocument } from 'yaml';
import { usageError } from '../exit-codes.js';
import { checkScenario, normalizeScenario, type SuiteDefaults } from './normalize.js';
import {
  compileSchemaFile,
  formatProblem,
  locateProblems,
  toSchemaProblems,
  type SchemaProblem,
} from './schema-errors.js';
import type { Scenario, Suite } from './types.js';

export interface LoadScenariosOptions {
  rootDir: string;
  /** Seed for scenarios that name none; a random one when omitted. */
  defaultSeed?: string;
}

/** Where a scenario's `name` is written, for messages about repeated names. */
interface NameSite {
  name: string;
  path: string;
  line?: number;
  column?: number;
}

interface ParsedFile {
  file: string;
  displayName: string;
  suiteName?: string;
  description?: string;
  scenarios: Scenario[];
  names: NameSite[];
  problems: SchemaProblem[];
}

let cachedValidator: { schemaPath: string; validate: ValidateFunction } | undefined;

function scenarioValidator(rootDir: string): ValidateFunction {
  const schemaPath = join(rootDir, 'schemas', 'scenario.schema.json');
  if (cachedValidator?.schemaPath !== schemaPath) {
    cachedValidator = { schemaPath, validate: compileSchemaFile(schemaPath) };
  }
  return cachedValidator.validate;
}

/** Lists the suite names under scenarios/ (file names without .yaml). */
export function listSuites(rootDir: string): string[] {
  const dir = join(rootDir, 'scenarios');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith('.yaml') || name.endsWith('.yml'))
    .map((name) => basename(name, extname(name)))
    .sort();
}

/** Resolves a file path, or a suite name under scenarios/, to an existing file. */
export function resolveScenarioPath(input: string, rootDir: string): string {
  const candidates = [
    isAbsolute(input) ? input : resolve(input),
    resolve(rootDir, input),
    join(rootDir, 'scenarios', `${input}.yaml`),
    join(rootDir, 'scenarios', `${input}.yml`),
  ];
  const found = candidates.find((candidate) => existsSync(candidate) && statSync(candidate).isFile());
  if (found) return found;
  const suites = listSuites(rootDir);
  throw usageError(
    `scenario file or suite "${input}" not found`,
    suites.length > 0
      ? `pass a YAML file path or one of the suites in scenarios/: ${suites.join(', ')}`
      : 'pass the path of a YAML scenario file',
  );
}

function parseFile(file: string, displayName: string, validate: ValidateFunction, defaultSeed: string): ParsedFile {
  const lineCounter = new LineCounter();
  const document = parseDocument(readFileSync(file, 'utf8'), { lineCounter, prettyErrors: false });
  const parsed: ParsedFile = { file, displayName, scenarios: [], names: [], problems: [] };
  if (document.errors.length > 0) {
    parsed.problems = document.errors.map((error) => {
      const { line, col } = lineCounter.linePos(error.pos[0]);
      return { path: '$', message: `invalid YAML: ${error.message.split('\n')[0]}`, line, column: col };
    });
    return parsed;
  }

  const data: unknown = document.toJS();
  if (!validate(data)) {
    parsed.problems = locateProblems(toSchemaProblems(validate.errors), document, lineCounter);
    return parsed;
  }

  const root = data as Record<string, unknown>;
  const isSuite = Array.isArray(root.scenarios);
  const rawScenarios = (isSuite ? root.scenarios : [root]) as Record<string, unknown>[];
  const defaults = (isSuite ? (root.defaults ?? {}) : {}) as SuiteDefaults;
  parsed.suiteName = isSuite ? String(root.suite) : undefined;
  parsed.description = typeof root.description === 'string' ? root.description : undefined;
  rawScenarios.forEach((raw, index) => {
    const scenario = normalizeScenario(raw, file, defaults, defaultSeed);
    const path = isSuite ? `$.scenarios[${index}]` : '$';
    parsed.problems.push(...locateProblems(checkScenario(scenario, path), document, lineCounter));
    parsed.scenarios.push(scenario);
    const [site] = locateProblems([{ path: `${path}.name`, message: '' }], document, lineCounter);
    parsed.names.push({ name: scenario.name, path: `${path}.name`, line: site?.line, column: site?.column });
  });
  return parsed;
}

/** Adds a problem to every scenario name used before, at the repeat, naming where it was first used. */
function addDuplicateNameProblems(files: ParsedFile[]): void {
  const first = new Map<string, { file: ParsedFile; site: NameSite }>();
  for (const parsed of files) {
    for (const site of parsed.names) {
      const earlier = first.get(site.name);
      if (!earlier) {
        first.set(site.name, { file: parsed, site });
        continue;
      }
      const where =
        earlier.file === parsed
          ? `line ${earlier.site.line ?? '?'} of this file`
          : `${earlier.file.displayName}${earlier.site.line === undefined ? '' : `:${earlier.site.line}:${earlier.site.column ?? 1}`}`;
      const problem = { path: site.path, line: site.line, column: site.column, message: `scenario name "${site.name}" is already used at ${where}; expected unique names (reports and run ids are keyed by it)` };
      parsed.problems.push(problem);
    }
  }
}

/**
 * Formats the problems of one file in line and column order, dropping exact
 * repeats. Problems without a position come first, in the order found.
 */
export function formatFileProblems(displayName: string, problems: readonly SchemaProblem[]): string[] {
  const sorted = [...problems].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  return [...new Set(sorted.map((problem) => formatProblem(displayName, problem)))];
}

/**
 * Loads one or more suite or scenario files into a suite. Throws a usage error
 * (exit 2) listing every problem as `file:line:column: path: expected ...`.
 */
export function loadSuite(inputs: readonly string[], options: LoadScenariosOptions): Suite {
  if (inputs.length === 0) {
    throw usageError('no suite or scenario file given', 'pass a suite name (e.g. default) or YAML file paths');
  }
  const validate = scenarioValidator(options.rootDir);
  const defaultSeed = options.defaultSeed ?? randomBytes(4).toString('hex');
  const files = inputs.map((input) => {
    const file = resolveScenarioPath(input, options.rootDir);
    const relativeName = relative(process.cwd(), file);
    const displayName = relativeName && !relativeName.startsWith('..') ? relativeName : file;
    return parseFile(file, displayName, validate, defaultSeed);
  });

  addDuplicateNameProblems(files);
  const problemLines = files.flatMap((parsed) => formatFileProblems(parsed.displayName, parsed.problems));
  if (problemLines.length > 0) {
    const count = problemLines.length;
    throw usageError(
      `invalid scenario file (${count} problem${count === 1 ? '' : 's'}):\n  ${problemLines.join('\n  ')}`,
      'fix the listed paths; schemas/scenario.schema.json describes every field',
    );
  }

  const first = files[0] as ParsedFile;
  const name =
    files.length === 1
      ? (first.suiteName ?? first.scenarios[0]?.name ?? 'scenario')
      : files.map((parsed) => parsed.suiteName ?? basename(parsed.file, extname(parsed.file))).join('+').slice(0, 64);
  return {
    name,
    description: files.length === 1 ? first.description : undefined,
    files: files.map((parsed) => parsed.file),
    scenarios: files.flatMap((parsed) => parsed.scenarios),
  };
}
