/**
 * POST /store and POST /store_bulk. Partly invalid bulk requests are accepted
 * partially: the valid items are stored and acknowledged, the invalid ones are
 * listed by index in `rejected`. When no item is valid the response is 400 with
 * the same list in `errors`. A repeated id keeps its first occurrence.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { itemError, SomaError, somaError, type ItemError } from '../errors.js';
import { buildEvents } from '../events/build-events.js';
import type { MemoryEvent } from '../events/schema.js';
import type { EventSizeLimit, IngestSink } from '../ingest-sink.js';
import type { Metrics } from '../metrics.js';
import type { Readiness } from '../readiness.js';

export interface StoreRouteOptions {
  sink: IngestSink;
  readiness: Readiness;
  metrics: Metrics;
  defaultNamespace: string;
  maxBulkItems: number;
  maxTextLength: number;
  /** Clock in epoch milliseconds; the acceptance time of items without a timestamp. */
  now?: () => number;
}

export interface StoreResponse {
  mode: 'evented' | 'direct';
  accepted: number;
  ids: string[];
  rejected: ItemError[];
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function bulkItemsOf(body: unknown, maxBulkItems: number): unknown[] {
  if (body === undefined) throw somaError('SOMA_ERR_BODY_EMPTY', {});
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw somaError('SOMA_ERR_BODY_INVALID', { problem: `expected a JSON object with an items array, got ${typeName(body)}` });
  }
  const record = body as Record<string, unknown>;
  const unknownField = Object.keys(record).find((key) => key !== 'items');
  if (unknownField !== undefined) {
    throw somaError('SOMA_ERR_BODY_INVALID', { problem: `unknown field ${unknownField}; the body has only an items array` });
  }
  const { items } = record;
  if (items === undefined) {
    throw somaError('SOMA_ERR_BODY_INVALID', { problem: 'field items is missing; send {"items": [...]}' });
  }
  if (!Array.isArray(items)) {
    throw somaError('SOMA_ERR_BODY_INVALID', { problem: `field items must be an array of items, got ${typeName(items)}` });
  }
  if (items.length === 0) throw somaError('SOMA_ERR_BULK_EMPTY', {});
  if (items.length > maxBulkItems) {
    throw somaError('SOMA_ERR_BULK_TOO_LARGE', { count: items.length, limit: maxBulkItems });
  }
  return items;
}

function singleItemOf(body: unknown): unknown[] {
  if (body === undefined) throw somaError('SOMA_ERR_BODY_EMPTY', {});
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw somaError('SOMA_ERR_BODY_INVALID', { problem: `expected one item as a JSON object, got ${typeName(body)}` });
  }
  return [body];
}

/**
 * Moves the events larger than the sink's limit into `rejected`, by the index
 * of their item. buildEvents returns one event per item that it did not
 * reject, in request order, which gives each event's item index.
 */
function rejectOversized(
  built: { events: MemoryEvent[]; rejected: ItemError[] },
  itemCount: number,
  limit: EventSizeLimit | undefined,
): { events: MemoryEvent[]; rejected: ItemError[] } {
  if (limit === undefined) return built;
  const rejectedIndexes = new Set(built.rejected.map((entry) => entry.index));
  const events: MemoryEvent[] = [];
  const oversized: ItemError[] = [];
  let eventIndex = 0;
  for (let index = 0; index < itemCount; index++) {
    if (rejectedIndexes.has(index)) continue;
    const event = built.events[eventIndex++];
    if (event === undefined) break;
    const bytes = limit.bytesOf(event);
    if (bytes <= limit.maxBytes) events.push(event);
    else oversized.push(itemError('SOMA_ERR_ITEM_TOO_LARGE', { index, bytes, limit: limit.maxBytes }, event.id));
  }
  if (oversized.length === 0) return built;
  const rejected = [...built.rejected, ...oversized].sort((a, b) => a.index - b.index);
  return { events, rejected };
}

export function registerStoreRoutes(app: FastifyInstance, options: StoreRouteOptions): void {
  const { sink, readiness, metrics } = options;
  const now = options.now ?? Date.now;
  const status = sink.mode === 'evented' ? 202 : 201;

  async function store(items: unknown[], bulk: boolean, reply: FastifyReply): Promise<StoreResponse> {
    const built = buildEvents(items, {
      defaultNamespace: options.defaultNamespace,
      maxTextLength: options.maxTextLength,
      now: now(),
    });
    const { events, rejected } = rejectOversized(built, items.length, sink.eventSizeLimit);
    for (const entry of rejected) metrics.itemsRejected.inc({ code: entry.code });

    const [firstRejected] = rejected;
    if (events.length === 0 && firstRejected !== undefined) {
      // A bulk whose items are all too large gets 413 like a single item, which tells the client to split items.
      const allTooLarge = rejected.every((entry) => entry.code === 'SOMA_ERR_ITEM_TOO_LARGE');
      if (bulk && !allTooLarge) throw somaError('SOMA_ERR_BULK_ALL_REJECTED', { count: items.length }, { errors: rejected });
      throw new SomaError(firstRejected.code, firstRejected.message, { errors: rejected });
    }

    readiness.require(sink.dependencies);
    await sink.write(events);
    metrics.itemsAccepted.inc({ mode: sink.mode }, events.length);
    reply.code(status);
    return { mode: sink.mode, accepted: events.length, ids: events.map((event) => event.id), rejected };
  }

  app.post('/store', (request: FastifyRequest, reply) => store(singleItemOf(request.body), false, reply));
  app.post('/store_bulk', (request: FastifyRequest, reply) =>
    store(bulkItemsOf(request.body, options.maxBulkItems), true, reply),
  );
}
