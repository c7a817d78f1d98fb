/**
 * Reconciles a run item by item: the acknowledged ids against the records of
 * every checked store, classifying each discrepancy as lost, partial,
 * duplicated, phantom or payload mismatch.
 */
import type { StoreName } from '../scenario/types.js';

/** One record of a store that carries the run's id (or was found by an acknowledged id). */
export interface StoredRecord {
  id: string;
  contentHash: string | null;
  /** The record's run id; a record found by id may carry another run's id. */
  runId: string | null;
}

export interface StoreSnapshot {
  store: StoreName;
  records: StoredRecord[];
  /** The query or API call that read the records, for the evidence. */
  query: string;
}

export interface ExpectedItem {
  id: string;
  expectedHash: string;
}

export type DiscrepancyClass = 'lost' | 'partial' | 'duplicated' | 'phantom' | 'payload-mismatch';
export const DISCREPANCY_CLASSES: readonly DiscrepancyClass[] = ['lost', 'partial', 'duplicated', 'phantom', 'payload-mismatch'];

export interface DiscrepancySample {
  id: string;
  detail: string;
}

/** All ids of one class in one store (`all` for lost items, which are in no store). */
export interface Discrepancy {
  class: DiscrepancyClass;
  store: StoreName | 'all';
  count: number;
  /** Sorted by id, at most `sampleSize` entries. */
  sample: DiscrepancySample[];
  /** One sentence: what is wrong, where, how many. */
  message: string;
}

export interface StoreReconciliation {
  store: StoreName;
  /** Records read, duplicates included. */
  records: number;
  distinctIds: number;
  /** Acknowledged ids present in this store. */
  present: number;
  /** Acknowledged ids absent from this store. */
  missing: number;
  phantom: number;
  duplicated: number;
  payloadMismatch: number;
  query: string;
}

export interface ReconcileResult {
  acknowledged: number;
  stores: StoreReconciliation[];
  discrepancies: Discrepancy[];
  /** Count per class over all stores; an id counts once per class and store. */
  counts: Record<DiscrepancyClass, number>;
}

export interface ReconcileInput {
  acknowledged: readonly ExpectedItem[];
  stores: readonly StoreSnapshot[];
  /** The run id the stores were filtered by. */
  runId: string;
  /** Ids sent but not acknowledged (rejected or failed), to explain phantoms. */
  unacknowledged?: ReadonlySet<string>;
  sampleSize?: number;
}

interface Collector {
  add(klass: DiscrepancyClass, store: StoreName | 'all', id: string, detail: string): void;
  build(sampleSize: number, storeNames: string): Discrepancy[];
}

function describe(klass: DiscrepancyClass, store: StoreName | 'all', count: number, storeNames: string): string {
  const one = count === 1;
  const items = `${count} item${one ? '' : 's'}`;
  switch (klass) {
    case 'lost':
      return `${items} acknowledged but in no store (${storeNames})`;
    case 'partial':
      return `${items} acknowledged but missing from ${store} while present in another store`;
    case 'duplicated':
      return `${items} stored more than once in ${store}`;
    case 'phantom':
      return `${items} in ${store} ${one ? 'carries' : 'carry'} the run id but ${one ? 'was' : 'were'} never acknowledged`;
    case 'payload-mismatch':
      return `${items} in ${store} with a content hash that differs from what was sent or from the other store`;
  }
}

function createCollector(): Collector {
  const groups = new Map<string, { klass: DiscrepancyClass; store: StoreName | 'all'; samples: Map<string, string> }>();
  return {
    add(klass, store, id, detail) {
      const key = `${klass} ${store}`;
      let group = groups.get(key);
      if (!group) {
        group = { klass, store, samples: new Map() };
        groups.set(key, group);
      }
      if (!group.samples.has(id)) group.samples.set(id, detail);
    },
    build(sampleSize, storeNames) {
      const order = (klass: DiscrepancyClass) => DISCREPANCY_CLASSES.indexOf(klass);
      return [...groups.values()]
        .sort((a, b) => order(a.klass) - order(b.klass) || a.store.localeCompare(b.store))
        .map((group) => {
          const ids = [...group.samples.keys()].sort();
          return {
            class: group.klass,
            store: group.store,
            count: ids.length,
            sample: ids.slice(0, sampleSize).map((id) => ({ id, detail: group.samples.get(id) ?? '' })),
            message: describe(group.klass, group.store, ids.length, storeNames),
          };
        });
    },
  };
}

function indexRecords(snapshot: StoreSnapshot): Map<string, StoredRecord[]> {
  const byId = new Map<string, StoredRecord[]>();
  for (const record of snapshot.records) {
    const list = byId.get(record.id);
    if (list) list.push(record);
    else byId.set(record.id, [record]);
  }
  return byId;
}

function checkAcknowledged(
  item: ExpectedItem,
  indexes: readonly { store: StoreName; byId: Map<string, StoredRecord[]> }[],
  runId: string,
  collector: Collector,
): void {
  const present = indexes.filter((index) => index.byId.has(item.id));
  if (present.length === 0) {
    collector.add('lost', 'all', item.id, 'acknowledged, in no store');
    return;
  }
  for (const index of indexes) {
    if (!index.byId.has(item.id)) {
      collector.add('partial', index.store, item.id, `only in ${present.map((entry) => entry.store).join(', ')}`);
    }
  }

  const hashes = new Set<string>();
  for (const index of present) {
    const record = (index.byId.get(item.id) as StoredRecord[])[0] as StoredRecord;
    hashes.add(record.contentHash ?? 'none');
    if (record.runId !== runId) {
      collector.add('payload-mismatch', index.store, item.id, `stored with run_id ${JSON.stringify(record.runId)}`);
    } else if (record.contentHash !== item.expectedHash) {
      collector.add('payload-mismatch', index.store, item.id, `hash ${record.contentHash ?? 'none'}, sent ${item.expectedHash}`);
    }
  }
  if (hashes.size > 1) {
    for (const index of present) {
      const record = (index.byId.get(item.id) as StoredRecord[])[0] as StoredRecord;
      collector.add('payload-mismatch', index.store, item.id, `stores disagree: ${index.store} has ${record.contentHash ?? 'none'}`);
    }
  }
}

/** Classifies every acknowledged and every stored id of the run. */
export function reconcile(input: ReconcileInput): ReconcileResult {
  const sampleSize = input.sampleSize ?? 10;
  const acknowledged = new Map(input.acknowledged.map((item) => [item.id, item]));
  const indexes = input.stores.map((snapshot) => ({ store: snapshot.store, byId: indexRecords(snapshot) }));
  const collector = createCollector();

  for (const item of acknowledged.values()) checkAcknowledged(item, indexes, input.runId, collector);

  for (const index of indexes) {
    for (const [id, records] of index.byId) {
      if (records.length > 1) collector.add('duplicated', index.store, id, `${records.length} records`);
      if (acknowledged.has(id)) continue;
      const sent = input.unacknowledged?.has(id) ? 'sent but rejected or failed, ' : '';
      collector.add('phantom', index.store, id, `${sent}never acknowledged`);
    }
  }

  const storeNames = input.stores.map((snapshot) => snapshot.store).join(', ');
  const discrepancies = collector.build(sampleSize, storeNames);
  const counts = Object.fromEntries(DISCREPANCY_CLASSES.map((klass) => [klass, 0])) as Record<DiscrepancyClass, number>;
  for (const discrepancy of discrepancies) counts[discrepancy.class] += discrepancy.count;

  const countFor = (klass: DiscrepancyClass, store: StoreName) =>
    discrepancies.find((entry) => entry.class === klass && entry.store === store)?.count ?? 0;
  const stores = input.stores.map((snapshot, position) => {
    const byId = (indexes[position] as { byId: Map<string, StoredRecord[]> }).byId;
    const present = [...acknowledged.keys()].filter((id) => byId.has(id)).length;
    return {
      store: snapshot.store,
      records: snapshot.records.length,
      distinctIds: byId.size,
      present,
      missing: acknowledged.size - present,
      phantom: countFor('phantom', snapshot.store),
      duplicated: countFor('duplicated', snapshot.store),
      payloadMismatch: countFor('payload-mismatch', snapshot.store),
      query: snapshot.query,
    };
  });

  return { acknowledged: acknowledged.size, stores, discrepancies, counts };
}
