/**
 * Loads the event contract, schemas/memory.event.json, which producer and
 * consumers both validate against. The file is found by walking up from this
 * module, so it works from the sources (service/src/events) and from the
 * build output (dist/service/src/events) as long as schemas/ sits in the
 * repository or image root.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ValidateFunction } from 'ajv';
import { createAjv, describeAjvError } from './ajv.js';

export const EVENT_SCHEMA_RELATIVE_PATH = join('schemas', 'memory.event.json');

/** One event as published on the topic; see schemas/memory.event.json. */
export interface MemoryEvent {
  event_id: string;
  id: string;
  namespace: string;
  type: string;
  timestamp: string;
  payload: Record<string, unknown>;
  importance?: number;
  embedding?: number[];
  model_revision?: string;
}

/** Finds schemas/memory.event.json in the nearest ancestor directory of `startDir`. */
export function findEventSchemaPath(startDir: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = startDir;
  for (;;) {
    const candidate = join(dir, EVENT_SCHEMA_RELATIVE_PATH);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(
        `${EVENT_SCHEMA_RELATIVE_PATH} not found in ${startDir} or any parent directory; ` +
          'copy the schemas/ folder next to dist/ (the application root)',
      );
    }
    dir = parent;
  }
}

let cachedSchema: Record<string, unknown> | undefined;
let cachedValidator: ValidateFunction<MemoryEvent> | undefined;

export function loadEventSchema(): Record<string, unknown> {
  cachedSchema ??= JSON.parse(readFileSync(findEventSchemaPath(), 'utf8')) as Record<string, unknown>;
  return cachedSchema;
}

/** The compiled event validator; compiled once per process. */
export function eventValidator(): ValidateFunction<MemoryEvent> {
  cachedValidator ??= createAjv().compile<MemoryEvent>(loadEventSchema());
  return cachedValidator;
}

/** Describes the first validation error of `validate` in one line, naming the field. */
export function describeValidationError(validate: ValidateFunction, data: unknown): string {
  return describeAjvError(validate.errors?.[0], data);
}
