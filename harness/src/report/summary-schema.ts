/**
 * Checks summary.json files against schemas/report.schema.json, so the report
 * pages, the runs index and `verify` read only summaries of the expected shape.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ValidateFunction } from 'ajv';
import { compileSchemaFile, formatProblem, toSchemaProblems } from '../scenario/schema-errors.js';
import type { RunSummary } from './summary.js';

export const SUMMARY_FILE = 'summary.json';
/** Repository root of this checkout, where schemas/ lives. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const validators = new Map<string, ValidateFunction>();

/** Validates a summary against schemas/report.schema.json; returns the problems, empty when valid. */
export function validateSummary(summary: unknown, rootDir: string = REPO_ROOT): string[] {
  const schemaPath = join(rootDir, 'schemas', 'report.schema.json');
  let validate = validators.get(schemaPath);
  if (!validate) {
    validate = compileSchemaFile(schemaPath);
    validators.set(schemaPath, validate);
  }
  if (validate(summary)) return [];
  return toSchemaProblems(validate.errors).map((problem) => formatProblem(SUMMARY_FILE, problem));
}

export type SummaryReading = { summary: RunSummary; problems?: undefined } | { summary?: undefined; problems: string[] };

/** Reads and validates `<runDir>/summary.json`; an unreadable or invalid file returns its problems instead. */
export function readValidSummary(runDir: string, rootDir: string = REPO_ROOT): SummaryReading {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(join(runDir, SUMMARY_FILE), 'utf8'));
  } catch (error) {
    const reason = error instanceof SyntaxError ? `not valid JSON: ${error.message}` : (error as Error).message;
    return { problems: [`${SUMMARY_FILE}: ${reason}`] };
  }
  const problems = validateSummary(parsed, rootDir);
  return problems.length > 0 ? { problems } : { summary: parsed as RunSummary };
}
