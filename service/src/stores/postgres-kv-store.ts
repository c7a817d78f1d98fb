/**
 * The durable key-value record in Postgres: public.kv_store, one row per item
 * id. Writes are batched multi-row upserts, idempotent by id, split so that
 * no statement passes Postgres' limit of 65,535 bind parameters.
 */
import pg from 'pg';
import type { Logger } from 'pino';
import { contentHash } from '../events/content-hash.js';
import { runIdOf } from '../events/normalize-item.js';
import type { MemoryEvent } from '../events/schema.js';

/** Postgres' protocol limit on bind parameters in one statement (a 16-bit count). */
export const POSTGRES_MAX_PARAMETERS = 65_535;
const COLUMNS_PER_ROW = 6;
/** Arbitrary constant that serialises schema creation across instances. */
const SCHEMA_LOCK_KEY = 7_361_902_117;

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
  /** Bind parameters per statement; lower it only to test the split. */
  maxParameters?: number;
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

function buildUpsert(events: readonly MemoryEvent[]): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const tuples: string[] = [];
  for (const event of events) {
    const base = values.length;
    values.push(
      event.id,
      event.namespace,
      runIdOf(event.payload),
      JSON.stringify(kvValueOf(event)),
      contentHash(event.payload),
      event.event_id,
    );
    tuples.push(`($${base + 1},$${base + 2},$${base + 3},$${base + 4}::jsonb,$${base + 5},$${base + 6}::uuid,now())`);
  }
  const text =
    'INSERT INTO public.kv_store (id, namespace, run_id, value, content_hash, event_id, updated_at) VALUES ' +
    tuples.join(',') +
    ' ON CONFLICT (id) DO UPDATE SET namespace = EXCLUDED.namespace, run_id = EXCLUDED.run_id,' +
    ' value = EXCLUDED.value, content_hash = EXCLUDED.content_hash, event_id = EXCLUDED.event_id,' +
    ' updated_at = EXCLUDED.updated_at' +
    // A replayed event (same event_id) leaves the row as it is.
    ' WHERE kv_store.event_id IS DISTINCT FROM EXCLUDED.event_id';
  return { text, values };
}

export function createPostgresKvStore(options: PostgresKvStoreOptions): KvStore {
  const { log } = options;
  const maxRows = Math.max(1, Math.floor((options.maxParameters ?? POSTGRES_MAX_PARAMETERS) / COLUMNS_PER_ROW));
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
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },

    async upsert(events) {
      const rows = dedupeById(events);
      if (rows.length === 0) return { rows: 0, statements: 0 };
      if (rows.length <= maxRows) {
        await pool.query(buildUpsert(rows));
        return { rows: rows.length, statements: 1 };
      }

      const client = await pool.connect();
      let statements = 0;
      try {
        for (let start = 0; start < rows.length; start += maxRows) {
          await client.query(buildUpsert(rows.slice(start, start + maxRows)));
          statements++;
        }
      } finally {
        client.release();
      }
      return { rows: rows.length, statements };
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
