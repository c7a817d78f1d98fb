/**
 * The autocannon engine on the real evented pipeline. The service's api,
 * kv-writer and vector-indexer processes run on the shared test backends with
 * a topic, groups and namespace of their own. `soma-harness run` drives them
 * through the external target, so load, verification and report are the ones
 * users get.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { getBackends } from '../../../test/support/backends.js';
import { validateSummary } from '../report/write-report.js';
import { externalTargetArgs, ROOT_DIR, runCli, summaryFrom, tempDir, uniqueStackName } from './engine-test-support.js';
import { startServiceStack, type ServiceStack } from './service-stack.js';

let stack: ServiceStack;

before(async () => {
  stack = await startServiceStack({
    backends: await getBackends(),
    rootDir: ROOT_DIR,
    logDir: tempDir('autocannon-logs'),
    name: uniqueStackName('autocannon'),
  });
});

after(async () => {
  await stack?.stop();
});

test('autocannon suite passes verification on the pipeline', async () => {
  const result = await runCli(['run', 'scenarios/autocannon.yaml', ...externalTargetArgs(stack.endpoints), '--reports-dir', tempDir('autocannon-reports')]);

  assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
  assert.match(result.stdout, /^PASSED\s+autocannon-bulk: 2000\/2000 acknowledged/m);
  assert.match(result.stdout, /^PASSED\s+autocannon-fixed-rate: \d+\/5000 acknowledged/m);
  assert.match(result.stdout, /^PASSED\s+autocannon-mix: 600\/600 acknowledged/m);
  const summary = summaryFrom(result);
  assert.deepEqual(validateSummary(summary, ROOT_DIR), []);

  const [bulk, fixedRate, mix] = summary.scenarios;
  assert.ok(bulk, 'autocannon-bulk is in the summary');
  assert.ok(fixedRate, 'autocannon-fixed-rate is in the summary');
  assert.ok(mix, 'autocannon-mix is in the summary');
  assert.equal(bulk.load.engine, 'autocannon');
  assert.deepEqual(bulk.verification.counts.map((count) => [count.store, count.expected, count.found]), [
    ['postgres', 2000, 2000],
    ['qdrant', 2000, 2000],
  ]);
  assert.equal(bulk.verification.reconciliation.discrepancies.length, 0);
  assert.equal(bulk.load.requests.byStatus['202'], 20, 'twenty bulk requests of 100');

  const acknowledged = fixedRate.load.items.acknowledged;
  assert.ok(acknowledged > 0, 'some items acknowledged');
  assert.equal(acknowledged % 100, 0, `whole requests of 100 acknowledged, got ${acknowledged}`);
  assert.equal(fixedRate.load.items.failed, 0, 'the drain leaves no request without an answer');
  assert.equal(fixedRate.verification.counts.find((count) => count.store === 'qdrant')?.found, acknowledged);
  assert.ok(fixedRate.load.notes.some((note) => note.includes('corrected for coordinated omission')));

  assert.ok((mix.load.requests.byStatus['200'] ?? 0) > 0, 'recall requests answered 200');
  assert.equal(mix.verification.reconciliation.counts.phantom, 0);
});
