/**
 * Actions the harness runs itself, behind the API's back, to prove that
 * verification catches a broken pipeline: rows deleted from Postgres after
 * they were written, and rows written with the run id that the API never
 * acknowledged. Every other action name goes to the target.
 */
import pg from 'pg';
import { randomUUID } from 'node:crypto';
import { usageError } from '../exit-codes.js';
import { contentHash } from '../../../service/src/events/content-hash.js';
import { sleep } from '../load/retry.js';
import type { ActionSpec } from '../scenario/types.js';

export const HARNESS_ACTIONS = ['postgres-delete-rows', 'postgres-insert-phantom'] as const;

export interface StoreFaultContext {
  postgresUrl: string;
  runId: string;
  namespace: string;
  /** Called with what the action did, for the report. */
  onResult?: (message: string) => void;
}

function positiveInteger(action: ActionSpec, name: string, fallback: number): number {
  const value = action.params[name] ?? fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw usageError(`action ${action.action}: params.${name} must be a positive integer, found ${JSON.stringify(value)}`);
  }
  return value;
}

const DELETE_ORDERS = ['lowest-id', 'highest-id'] as const;

function deleteOrder(action: ActionSpec): (typeof DELETE_ORDERS)[number] {
  const value = action.params.order ?? 'lowest-id';
  if (!(DELETE_ORDERS as readonly unknown[]).includes(value)) {
    throw usageError(`action ${action.action}: params.order must be one of ${DELETE_ORDERS.join(', ')}, found ${JSON.stringify(value)}`);
  }
  return value as (typeof DELETE_ORDERS)[number];
}

/**
 * Waits until the run has at least `minRows` rows (default `count`), because
 * the writer may still be behind. Then deletes `count` of them: the lowest
 * ids, or with `order: highest-id` the items sent last. Ids are the run id and
 * a zero-padded sequence number, so id order is send order.
 */
async function deleteRows(client: pg.Client, action: ActionSpec, context: StoreFaultContext, signal: AbortSignal): Promise<void> {
  const count = positiveInteger(action, 'count', 1);
  const minRows = Math.max(count, positiveInteger(action, 'minRows', count));
  const order = deleteOrder(action);
  const waitMs = positiveInteger(action, 'waitMs', 30_000);
  const deadline = Date.now() + waitMs;
  for (;;) {
    const result = await client.query<{ count: string }>('SELECT count(*) AS count FROM public.kv_store WHERE run_id = $1', [context.runId]);
    const rows = Number(result.rows[0]?.count ?? 0);
    if (rows >= minRows) break;
    if (Date.now() >= deadline) {
      throw new Error(`only ${rows} rows of run ${context.runId} appeared within ${waitMs} ms, ${minRows} needed before deleting ${count}`);
    }
    await sleep(200, signal);
  }
  const direction = order === 'highest-id' ? 'DESC' : 'ASC';
  const deleted = await client.query<{ id: string }>(
    `DELETE FROM public.kv_store WHERE id IN (SELECT id FROM public.kv_store WHERE run_id = $1 ORDER BY id ${direction} LIMIT $2) RETURNING id`,
    [context.runId, count],
  );
  const ids = deleted.rows.map((row) => row.id).sort();
  context.onResult?.(`deleted ${ids.length} row(s) from public.kv_store: ${ids.join(', ')}`);
}

/** Inserts `count` rows with the run id and ids the API never saw. */
async function insertPhantoms(client: pg.Client, action: ActionSpec, context: StoreFaultContext): Promise<void> {
  const count = positiveInteger(action, 'count', 1);
  const ids: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const id = `${context.runId}-phantom-${index}`;
    const payload = { text: 'written behind the API', run_id: context.runId };
    await client.query(
      `INSERT INTO public.kv_store (id, namespace, run_id, value, content_hash, event_id, updated_at)
       VALUES ($1, $2, $3, $4::jsonb, $5, $6, now())
       ON CONFLICT (id) DO NOTHING`,
      [id, context.namespace, context.runId, JSON.stringify({ payload, type: 'episodic' }), contentHash(payload), randomUUID()],
    );
    ids.push(id);
  }
  context.onResult?.(`inserted ${ids.length} row(s) behind the API's back: ${ids.join(', ')}`);
}

/** Returns whether `name` is an action the harness runs itself. */
export function isHarnessAction(name: string): boolean {
  return (HARNESS_ACTIONS as readonly string[]).includes(name);
}

/** Runs one harness action against Postgres. */
export async function runStoreFault(action: ActionSpec, context: StoreFaultContext, signal: AbortSignal): Promise<void> {
  const client = new pg.Client({ connectionString: context.postgresUrl, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    if (action.action === 'postgres-delete-rows') await deleteRows(client, action, context, signal);
    else if (action.action === 'postgres-insert-phantom') await insertPhantoms(client, action, context);
    else throw usageError(`unknown harness action "${action.action}"`, `use one of: ${HARNESS_ACTIONS.join(', ')}`);
  } finally {
    await client.end();
  }
}
