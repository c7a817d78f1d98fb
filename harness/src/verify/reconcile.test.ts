import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reconcile, type StoreSnapshot, type StoredRecord } from './reconcile.js';

const RUN = 'run-1';

function record(id: string, contentHash = `h-${id}`, runId: string | null = RUN): StoredRecord {
  return { id, contentHash, runId };
}

function acknowledged(ids: string[]) {
  return ids.map((id) => ({ id, expectedHash: `h-${id}` }));
}

function snapshot(store: 'postgres' | 'qdrant', records: StoredRecord[]): StoreSnapshot {
  return { store, records, query: `${store} query` };
}

test('consistent run has no discrepancies', () => {
  const ids = ['a', 'b', 'c'];
  const result = reconcile({
    runId: RUN,
    acknowledged: acknowledged(ids),
    stores: [snapshot('postgres', ids.map((id) => record(id))), snapshot('qdrant', ids.map((id) => record(id)))],
  });
  assert.deepEqual(result.discrepancies, []);
  assert.equal(result.acknowledged, 3);
  assert.deepEqual(
    result.stores.map((store) => [store.store, store.present, store.missing]),
    [
      ['postgres', 3, 0],
      ['qdrant', 3, 0],
    ],
  );
});

test('acknowledged id in no store is lost', () => {
  const result = reconcile({
    runId: RUN,
    acknowledged: acknowledged(['a', 'b']),
    stores: [snapshot('postgres', [record('a')]), snapshot('qdrant', [record('a')])],
  });
  assert.equal(result.counts.lost, 1);
  const lost = result.discrepancies.find((entry) => entry.class === 'lost');
  assert.equal(lost?.store, 'all');
  assert.deepEqual(lost?.sample.map((entry) => entry.id), ['b']);
  assert.match(lost?.message ?? '', /^1 item acknowledged but in no store \(postgres, qdrant\)$/);
});

test('id in one store only is partial, attributed to the missing store', () => {
  const result = reconcile({
    runId: RUN,
    acknowledged: acknowledged(['a', 'b', 'c']),
    stores: [snapshot('postgres', [record('a'), record('b'), record('c')]), snapshot('qdrant', [record('a')])],
  });
  assert.equal(result.counts.partial, 2);
  const partial = result.discrepancies.find((entry) => entry.class === 'partial');
  assert.equal(partial?.store, 'qdrant');
  assert.deepEqual(partial?.sample, [
    { id: 'b', detail: 'only in postgres' },
    { id: 'c', detail: 'only in postgres' },
  ]);
  assert.equal(result.stores[1]?.missing, 2);
});

test('stored id never acknowledged is phantom, with the unacknowledged hint', () => {
  const result = reconcile({
    runId: RUN,
    acknowledged: acknowledged(['a']),
    stores: [snapshot('postgres', [record('a'), record('ghost'), record('rejected-1')]), snapshot('qdrant', [record('a')])],
    unacknowledged: new Set(['rejected-1']),
  });
  assert.equal(result.counts.phantom, 2);
  const phantom = result.discrepancies.find((entry) => entry.class === 'phantom');
  assert.equal(phantom?.store, 'postgres');
  assert.deepEqual(phantom?.sample, [
    { id: 'ghost', detail: 'never acknowledged' },
    { id: 'rejected-1', detail: 'sent but rejected or failed, never acknowledged' },
  ]);
  assert.equal(result.stores[0]?.phantom, 2);
});

test('same id stored twice is duplicated', () => {
  const result = reconcile({
    runId: RUN,
    acknowledged: acknowledged(['a']),
    stores: [snapshot('postgres', [record('a')]), snapshot('qdrant', [record('a'), record('a')])],
  });
  assert.equal(result.counts.duplicated, 1);
  assert.equal(result.discrepancies[0]?.store, 'qdrant');
  assert.equal(result.discrepancies[0]?.sample[0]?.detail, '2 records');
});

test('hash that differs from the sent payload is a payload mismatch', () => {
  const result = reconcile({
    runId: RUN,
    acknowledged: acknowledged(['a']),
    stores: [snapshot('postgres', [record('a', 'other')]), snapshot('qdrant', [record('a')])],
  });
  const mismatches = result.discrepancies.filter((entry) => entry.class === 'payload-mismatch');
  assert.deepEqual(mismatches.map((entry) => entry.store), ['postgres', 'qdrant']);
  assert.match(mismatches[0]?.sample[0]?.detail ?? '', /hash other, sent h-a/);
  assert.match(mismatches[1]?.sample[0]?.detail ?? '', /stores disagree: qdrant has h-a/);
});

test('record found by id under another run id is a payload mismatch', () => {
  const result = reconcile({
    runId: RUN,
    acknowledged: acknowledged(['a']),
    stores: [snapshot('postgres', [record('a', 'h-a', 'run-0')])],
  });
  assert.equal(result.counts['payload-mismatch'], 1);
  assert.match(result.discrepancies[0]?.sample[0]?.detail ?? '', /stored with run_id "run-0"/);
});

test('sample is sorted and capped while the count is complete', () => {
  const ids = Array.from({ length: 30 }, (_, index) => `id-${String(index).padStart(2, '0')}`);
  const result = reconcile({ runId: RUN, acknowledged: acknowledged(ids), stores: [snapshot('postgres', [])], sampleSize: 5 });
  const lost = result.discrepancies[0];
  assert.equal(lost?.count, 30);
  assert.deepEqual(lost?.sample.map((entry) => entry.id), ['id-00', 'id-01', 'id-02', 'id-03', 'id-04']);
});

test('acknowledged twice counts once', () => {
  const result = reconcile({
    runId: RUN,
    acknowledged: [...acknowledged(['a']), ...acknowledged(['a'])],
    stores: [snapshot('postgres', [record('a')])],
  });
  assert.equal(result.acknowledged, 1);
  assert.deepEqual(result.discrepancies, []);
});
