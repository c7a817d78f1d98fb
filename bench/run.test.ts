/**
 * `npm run bench -- --quick` on the shared test backends: it writes a result
 * that is valid against schemas/bench.schema.json and an HTML page, and
 * `soma-harness compare` reads two results and flags a throughput drop.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { BACKENDS_ENV, getBackends } from '../test/support/backends.js';
import { ROOT_DIR, runCli, tempDir } from '../harness/src/load/engine-test-support.js';
import type { BenchResult } from './results.js';
import { validateBenchResult } from './results.js';
import { main } from './run.js';

test('bench quick mode writes a valid result', async () => {
  process.env[BACKENDS_ENV] ??= JSON.stringify(await getBackends());
  const outDir = tempDir('bench');

  const summary = new PassThrough();
  const printed: Buffer[] = [];
  summary.on('data', (chunk: Buffer) => printed.push(chunk));
  const code = await main(['--quick', '--out', outDir], summary);

  assert.equal(code, 0, Buffer.concat(printed).toString('utf8'));
  assert.match(Buffer.concat(printed).toString('utf8'), /^chunk100AcknowledgedItemsPerSecond +\d+$/m);
  const files = readdirSync(outDir).sort();
  const jsonFile = files.find((file) => file.endsWith('-quick.json'));
  assert.ok(jsonFile, `a result file in ${files.join(', ')}`);
  assert.ok(existsSync(join(outDir, jsonFile.replace(/\.json$/, '.html'))), 'the HTML page is written beside it');
  const result = JSON.parse(readFileSync(join(outDir, jsonFile), 'utf8')) as BenchResult;
  assert.deepEqual(validateBenchResult(result, ROOT_DIR), []);
  assert.equal(result.mode, 'quick');
  assert.equal(result.runs.length, 1);
  assert.deepEqual(result.runs[0]?.pipeline.map((sweep) => sweep.chunkSize), [10, 100]);
  assert.ok((result.figures.chunk100AcknowledgedItemsPerSecond ?? 0) > 0, 'items were acknowledged at chunk size 100');
  assert.ok((result.figures.chunk100ConsistentItemsPerSecond ?? 0) > 0, 'items became consistent in both stores');
  assert.ok((result.runs[0]?.fixedRate.timeToConsistency.visible ?? 0) > 0, 'marker items were seen in both stores');
  assert.equal(result.targets.length, 5);

  const slower = structuredClone(result);
  slower.figures.chunk100AcknowledgedItemsPerSecond = (result.figures.chunk100AcknowledgedItemsPerSecond ?? 0) / 2;
  const base = join(outDir, jsonFile);
  const current = join(outDir, 'slower.json');
  writeFileSync(current, JSON.stringify(slower));

  const same = await runCli(['compare', base, base]);
  assert.equal(same.code, 0, same.stdout);
  assert.match(same.stdout, /0 regression\(s\) in \d+ compared figure\(s\)/);
  const regressed = await runCli(['compare', base, current]);
  assert.equal(regressed.code, 1, regressed.stdout);
  assert.match(regressed.stdout, /^regression: chunk100AcknowledgedItemsPerSecond: /m);
});
