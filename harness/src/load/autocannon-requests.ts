/**
 * The requests the autocannon engine sends: bodies built per request from the
 * run's seeded items (each item sent once, with a stable id), and the
 * accounting of each response item by item.
 */
import type { RequestKind } from './autocannon-options.js';
import { accountChunkResponse, type ChunkAccounting } from './chunk-response.js';
import { generateItems, type GeneratedItem, type ItemGeneratorOptions } from './items.js';
import { createRandom } from './random.js';

/** One request built by the engine and not yet settled. */
export interface SentRequest {
  /** 0-based number of the request in the run. */
  index: number;
  kind: RequestKind;
  items: GeneratedItem[];
  /** Wall clock (epoch ms) when the request was built, right before autocannon writes it. */
  sentAtMs: number;
  /** A GET /healthz sent in place of a store request because no item was left. */
  filler: boolean;
}

const RECALL_WORDS = ['memory', 'harbor', 'signal', 'river', 'archive', 'beacon', 'lantern', 'vector', 'meadow', 'ledger'];

/** Hands out item seqs in order, up to a budget, so every item is sent at most once. */
export class ItemAllocator {
  private next = 0;

  constructor(private readonly budget: number) {}

  /** Takes up to `count` seqs; returns [from, to), empty when the budget is spent. */
  take(count: number): [number, number] {
    const from = this.next;
    const to = Math.min(this.budget, from + count);
    this.next = Math.max(from, to);
    return [from, Math.max(from, to)];
  }

  get handedOut(): number {
    return this.next;
  }

  get exhausted(): boolean {
    return this.next >= this.budget;
  }
}

/** Builds the JSON body of a request of `kind` for `items` (store kinds) or a seeded query (recall). */
export function buildBody(kind: RequestKind, items: readonly GeneratedItem[], context: { seed: string; index: number; namespace: string; topK: number }): string {
  if (kind === 'store_bulk') return JSON.stringify({ items: items.map((item) => item.body) });
  if (kind === 'store') return JSON.stringify((items[0] as GeneratedItem).body);
  const random = createRandom(`${context.seed}:recall:${context.index}`);
  const query = `${random.pick(RECALL_WORDS)} ${random.pick(RECALL_WORDS)} ${random.pick(RECALL_WORDS)}`;
  return JSON.stringify({ query, top_k: context.topK, namespace: context.namespace });
}

/** Generates the items of one store request; an empty list when the budget is spent. */
export function itemsForRequest(allocator: ItemAllocator, count: number, options: ItemGeneratorOptions): GeneratedItem[] {
  if (count === 0) return [];
  const [from, to] = allocator.take(count);
  return to > from ? generateItems(from, to, options) : [];
}

function parseJson(text: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Accounts a response: store kinds item by item, recall has no items. */
export function accountResponse(request: SentRequest, status: number, body: string): ChunkAccounting {
  if (request.items.length === 0) return { acknowledged: [], rejected: [], failed: [], unexpectedIds: [] };
  return accountChunkResponse(request.items, status, parseJson(body));
}
