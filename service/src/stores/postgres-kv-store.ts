/**
 * The durable key-value record in Postgres: public.kv_store, one row per item
 * id. Writes are batched upserts, idempotent by id: one prepared statement
 * takes a whole batch as one jsonb array (jsonb_to_recordset), so its text
 * and its one bind parameter stay the same for any batch size. Large batches
 * are split by row count and by bytes.
 */
import pg from 'pg';
import type { Logger } from 'pino';
import { contentHash } from '../events/content-hash.js';
import { runIdOf } from '../events/normalize-item.js';
import type { MemoryEvent } from '../events/schema.js';

/** Rows per statement: larger batches are written in several statements, which keeps each statement's row locks and memory bounded. */
export const DEFAULT_MAX_ROWS_PER_STATEMENT = 5_000;
/**
 * JSON characters (UTF-16 code units) of the rows of one statement. 16 Mi
 * characters are at most 48 MiB of UTF-8, well below the largest jsonb value
 * Postgres accepts (268,435,455 bytes).
 */
export const DEFAULT_MAX_CHARS_PER_STATEMENT = 16 * 1024 * 1024;
/** Arbitrary constant that serialises schema creation across instances. */
const SCHEMA_LOCK_KEY = 7_361_902_117;
/** Name of the prepared upsert statement. Each pooled connection prepares it once. */
const UPSERT_STATEMENT_NAME = 'soma_kv_store_upsert';

const UPSERT_SQL =
  'INSERT INTO public.kv_store (id, namespace, run_id, value, content_hash, event_id, updated_at)' +
  ' SELECT id, namespace, run_id, value, content_hash, event_id, now()' +
  ' FROM jsonb_to_recordset($1::jsonb) AS batch(id text, namespace text, run_id text, value jsonb, content_hash text, event_id uuid)' +
  ' ON CONFLICT (id) DO UPDATE SET namespace = EXCLUDED.namespace, run_id = EXCLUDED.run_id,' +
  ' value = EXCLUDED.value, content_hash = EXCLUDED.content_hash, event_id = EXCLUDED.event_id,' +
  ' updated_at = EXCLUDED.updated_at' +
  // A replayed event (same event_id) leaves the row as it is.
  ' WHERE kv_store.event_id IS DISTINCT FROM EXCLUDED.event_id';

const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS public.kv_store (
  id text PRIMARY KEY,
  namespace text NOT NULL,
  run_id text,
  value jsonb NOT NULL,
  content_hash text NOT NULL,
  event_id uuid,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS kv_store_run_id_idx ON public.kv_store (run_id);
CREATE INDEX IF NOT EXISTS kv_store_namespace_idx ON public.kv_store (namespace);
`;

/** A row of public.kv_store as GET /memories/:id returns it. */
export interface KvRow {
  id: string;
  namespace: string;
  run_id: string | null;
  value: Record<string, unknown>;
  content_hash: string;
  event_id: string | null;
  updated_at: string;
}

export interface UpsertResult {
  rows: number;
  statements: number;
}

export interface KvStore {
  ensureSchema(): Promise<void>;
  /** Upserts the events; a repeated id within `events` keeps the last occurrence. */
  upsert(events: readonly MemoryEvent[]): Promise<UpsertResult>;
  get(id: string): Promise<KvRow | undefined>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface PostgresKvStoreOptions {
  connectionString: string;
  log: Logger;
  /** Rows per statement (DEFAULT_MAX_ROWS_PER_STATEMENT). */
  maxRowsPerStatement?: number;
  /** JSON characters of the rows of one statement (DEFAULT_MAX_CHARS_PER_STATEMENT). */
  maxCharsPerStatement?: number;
  poolSize?: number;
}

/** Builds the jsonb value column: the event without the fields that have their own columns. */
export function kvValueOf(event: MemoryEvent): Record<string, unknown> {
  const value: Record<string, unknown> = { type: event.type, timestamp: event.timestamp, payload: event.payload };
  if (event.importance !== undefined) value.importance = event.importance;
  if (event.model_revision !== undefined) value.model_revision = event.model_revision;
  return value;
}

/** Keeps the last occurrence of each id, in the order of those last occurrences. */
export function dedupeById<T extends { id: string }>(items: readonly T[]): T[] {
  const lastById = new Map<string, T>();
  for (const item of items) {
    lastById.delete(item.id);
    lastById.set(item.id, item);
  }
  return lastById.size === items.length ? [...items] : [...lastById.values()];
}

/**
 * True for errors caused by the data of a statement (SQLSTATE classes 22
 * "data exception" and 54 "program limit exceeded"), which a retry cannot fix.
 */
export function isPostgresDataError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('54'));
}

/** Serialises one row as the JSON object that jsonb_to_recordset in UPSERT_SQL reads. */
function rowJson(event: MemoryEvent): string {
  return JSON.stringify({
    id: event.id,
    namespace: event.namespace,
    run_id: runIdOf(event.payload),
    value: kvValueOf(event),
    content_hash: contentHash(event.payload),
    event_id: event.event_id,
  });
}

/** Splits the rows into the jsonb array parameters of one statement each. */
export function buildUpsertParameters(events: readonly MemoryEvent[], maxRows: number, maxChars: number): string[] {
  const parameters: string[] = [];
  let current: string[] = [];
  let chars = 0;
  for (const event of events) {
    const row = rowJson(event);
    if (current.length > 0 && (current.length >= maxRows || chars + row.length > maxChars)) {
      parameters.push(`[${current.join(',')}]`);
      current = [];
      chars = 0;
    }
    current.push(row);
    chars += row.length + 1;
  }
  if (current.length > 0) parameters.push(`[${current.join(',')}]`);
  return parameters;
}

function upsertQuery(rows: string): pg.QueryConfig {
  return { name: UPSERT_STATEMENT_NAME, text: UPSERT_SQL, values: [rows] };
}

export function createPostgresKvStore(options: PostgresKvStoreOptions): KvStore {
  const { log } = options;
  const maxRows = Math.max(1, options.maxRowsPerStatement ?? DEFAULT_MAX_ROWS_PER_STATEMENT);
  const maxChars = Math.max(1, options.maxCharsPerStatement ?? DEFAULT_MAX_CHARS_PER_STATEMENT);
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.poolSize ?? 8,
    connectionTimeoutMillis: 3_000,
    idleTimeoutMillis: 30_000,
    application_name: 'soma-service',
  });
  // An idle client whose server went away emits 'error' on the pool; without a
  // listener that would crash the process.
  pool.on('error', (error) => log.warn({ err: error }, 'postgres idle client failed'));

  return {
    async ensureSchema() {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK_KEY]);
        await client.query(SCHEMA_SQL);
        await client.query('COMMIT');
        log.info({ table: 'public.kv_store' }, 'postgres schema ready');
      } catch (error) {
        // Readiness logs only changes of state, so a failed first attempt would otherwise go unseen.
        log.warn({ err: error, table: 'public.kv_store' }, 'postgres schema creation failed');
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },

    async upsert(events) {
      const rows = dedupeById(events);
      if (rows.length === 0) return { rows: 0, statements: 0 };
      const parameters = buildUpsertParameters(rows, maxRows, maxChars);
      if (parameters.length === 1) {
        await pool.query(upsertQuery(parameters[0] as string));
        return { rows: rows.length, statements: 1 };
      }

      const client = await pool.connect();
      try {
        for (const parameter of parameters) await client.query(upsertQuery(parameter));
      } finally {
        client.release();
      }
      return { rows: rows.length, statements: parameters.length };
    },

    async get(id) {
      const result = await pool.query<KvRow>(
        'SELECT id, namespace, run_id, value, content_hash, event_id, updated_at FROM public.kv_store WHERE id = $1',
        [id],
      );
      return result.rows[0];
    },

    async ping() {
      await pool.query('SELECT 1');
    },

    async close() {
      await pool.end();
      log.info('postgres pool closed');
    },
  };
}
