/**
 * Reads one run's rows from public.kv_store. Every query filters on the
 * indexed run_id column (or the id primary key), never on the JSON value.
 */
import pg from 'pg';
import type { StoredRecord } from './reconcile.js';

export const COUNT_SQL = 'SELECT count(*)::bigint AS count FROM public.kv_store WHERE run_id = $1';
export const LIST_SQL = 'SELECT id, content_hash, run_id FROM public.kv_store WHERE run_id = $1';
export const BY_ID_SQL = 'SELECT id, content_hash, run_id FROM public.kv_store WHERE id = ANY($1::text[])';
const ID_BATCH = 5000;

/** Removes the password from a libpq URL, for evidence and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
  }
}

export interface PostgresStore {
  readonly where: string;
  count(runId: string): Promise<number>;
  list(runId: string): Promise<StoredRecord[]>;
  /** Rows with these ids, whatever their run id. */
  findByIds(ids: readonly string[]): Promise<StoredRecord[]>;
  /** The plan of the count query, e.g. "Aggregate > Index Only Scan using kv_store_run_id_idx on kv_store". */
  explainCount(runId: string): Promise<string>;
  close(): Promise<void>;
}

interface Row {
  id: string;
  content_hash: string | null;
  run_id: string | null;
}

interface PlanNode {
  'Node Type'?: string;
  'Index Name'?: string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

function describePlan(node: PlanNode | undefined): string {
  if (!node) return 'unknown';
  let text = node['Node Type'] ?? 'unknown';
  if (node['Index Name']) text += ` using ${node['Index Name']}`;
  if (node['Relation Name']) text += ` on ${node['Relation Name']}`;
  const children = (node.Plans ?? []).map((child) => describePlan(child));
  return children.length > 0 ? `${text} > ${children.join(', ')}` : text;
}

function toRecord(row: Row): StoredRecord {
  return { id: row.id, contentHash: row.content_hash, runId: row.run_id };
}

/** Opens a small pool (2 connections) on `url`. */
export function createPostgresStore(url: string): PostgresStore {
  const pool = new pg.Pool({ connectionString: url, max: 2, connectionTimeoutMillis: 5000, idleTimeoutMillis: 1000 });
  pool.on('error', () => {
    // An idle client lost its connection; the next query reconnects or reports the error.
  });
  return {
    where: redactUrl(url),
    async count(runId) {
      const result = await pool.query<{ count: string }>(COUNT_SQL, [runId]);
      return Number(result.rows[0]?.count ?? 0);
    },
    async list(runId) {
      const result = await pool.query<Row>(LIST_SQL, [runId]);
      return result.rows.map(toRecord);
    },
    async findByIds(ids) {
      const records: StoredRecord[] = [];
      for (let start = 0; start < ids.length; start += ID_BATCH) {
        const result = await pool.query<Row>(BY_ID_SQL, [ids.slice(start, start + ID_BATCH)]);
        records.push(...result.rows.map(toRecord));
      }
      return records;
    },
    async explainCount(runId) {
      const result = await pool.query<{ 'QUERY PLAN': { Plan: PlanNode }[] }>(`EXPLAIN (FORMAT JSON) ${COUNT_SQL}`, [runId]);
      return describePlan(result.rows[0]?.['QUERY PLAN'][0]?.Plan);
    },
    close: () => pool.end(),
  };
}
