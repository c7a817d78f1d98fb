import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HarnessError, EXIT_USAGE } from '../exit-codes.js';
import { formatFileProblems, listSuites, loadSuite } from './load-scenarios.js';
import { parseDuration } from './duration.js';

const ROOT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

function writeScenario(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'soma-scenario-'));
  const file = join(dir, 'scenario.yaml');
  writeFileSync(file, text);
  return file;
}

function loadError(files: string | string[]): HarnessError {
  try {
    loadSuite(typeof files === 'string' ? [files] : files, { rootDir: ROOT_DIR });
  } catch (error) {
    assert.ok(error instanceof HarnessError, `expected a HarnessError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected loadSuite to throw');
}

test('default suite loads smoke and bulk-1000 with their settings', () => {
  const suite = loadSuite(['default'], { rootDir: ROOT_DIR });
  assert.equal(suite.name, 'default');
  assert.deepEqual(
    suite.scenarios.map((scenario) => scenario.name),
    ['smoke', 'bulk-1000'],
  );
  const bulk = suite.scenarios[1];
  assert.ok(bulk);
  assert.equal(bulk.load.items, 1000);
  assert.equal(bulk.load.chunkSize, 100);
  assert.equal(bulk.load.concurrency, 2);
  assert.deepEqual(bulk.verify.stores, ['postgres', 'qdrant']);
  assert.equal(bulk.verify.timeoutMs, 60_000);
  assert.equal(bulk.verify.pollIntervalMs, 250);
});

test('single scenario file gets defaults', () => {
  const file = writeScenario('name: tiny\nload:\n  engine: chunked\n  items: 5\n');
  const suite = loadSuite([file], { rootDir: ROOT_DIR, defaultSeed: 'abc' });
  const scenario = suite.scenarios[0];
  assert.ok(scenario);
  assert.equal(suite.name, 'tiny');
  assert.equal(scenario.load.seed, 'abc');
  assert.equal(scenario.load.chunkSize, 100);
  assert.deepEqual(scenario.load.shapes, { flat: 1, coord: 0 });
  assert.equal(scenario.validity.minAcknowledgedItems, 5);
  assert.equal(scenario.verify.lag, true);
});

test('actions parse percent and elapsed triggers', () => {
  const file = writeScenario(
    [
      'name: faults',
      'load: { engine: chunked, items: 10 }',
      'actions:',
      '  - { at: "0%", action: stop-component, params: { component: vector-indexer } }',
      '  - { at: 2.5s, action: start-component, params: { component: vector-indexer }, wait: true }',
    ].join('\n'),
  );
  const [scenario] = loadSuite([file], { rootDir: ROOT_DIR }).scenarios;
  assert.ok(scenario);
  assert.deepEqual(scenario.actions[0]?.trigger, { kind: 'percent', percent: 0 });
  assert.deepEqual(scenario.actions[1]?.trigger, { kind: 'elapsed', ms: 2500 });
  assert.equal(scenario.actions[1]?.wait, true);
});

test('invalid scenario names file, line, path and expectation', () => {
  const file = writeScenario(
    [
      'suite: broken',
      'scenarios:',
      '  - name: ok',
      '    load: { engine: chunked, items: 10 }',
      '  - name: bad',
      '    load:',
      '      engine: chunked',
      '      items: 10',
      '      chunkSize: "ten"',
      '      chunksize: 5',
      '    verify:',
      '      timeout: 30 seconds',
    ].join('\n'),
  );
  const error = loadError(file);
  assert.equal(error.exitCode, EXIT_USAGE);
  const lines = error.message.split('\n');
  assert.match(error.message, /invalid scenario file \(3 problems\)/);
  const chunkSize = lines.find((line) => line.includes('$.scenarios[1].load.chunkSize:'));
  assert.ok(chunkSize, error.message);
  assert.match(chunkSize, /scenario\.yaml:9:7: \$\.scenarios\[1\]\.load\.chunkSize: expected integer, found "ten"/);
  const unknown = lines.find((line) => line.includes('$.scenarios[1].load.chunksize:'));
  assert.ok(unknown, error.message);
  assert.match(unknown, /:10:7: .*unknown property; expected one of: engine, items, chunkSize/);
  const timeout = lines.find((line) => line.includes('$.scenarios[1].verify.timeout:'));
  assert.ok(timeout, error.message);
  assert.match(timeout, /:12:7: .*expected milliseconds as a number, or a string such as 500ms, 30s or 2m, found "30 seconds"/);
});

test('unknown engine is reported with the allowed values', () => {
  const file = writeScenario('name: x\nload:\n  engine: gatling\n  items: 1\n');
  const error = loadError(file);
  assert.match(error.message, /:3:3: \$\.load\.engine: expected one of "chunked", "autocannon", "k6", found "gatling"/);
  assert.match(error.message, /^invalid scenario file \(1 problem\):/);
  assert.doesNotMatch(error.message, /expected one of "autocannon", "k6",/, 'no narrower list of engines contradicts the full one');
});

test('YAML .nan is reported as NaN', () => {
  const file = writeScenario('name: x\nload: { engine: chunked, items: 10, rate: .nan }\n');
  const error = loadError(file);
  assert.match(error.message, /:2:37: \$\.load\.rate: expected number, found NaN$/m);
});

test('YAML .inf is reported as Infinity', () => {
  const file = writeScenario('name: x\nload: { engine: chunked, items: 10, rate: .inf }\n');
  const error = loadError(file);
  assert.match(error.message, /\$\.load\.rate: expected number, found Infinity$/m);
});

test('missing load is reported at the root', () => {
  const file = writeScenario('name: x\n');
  const error = loadError(file);
  assert.match(error.message, /\$\.load: missing; this property is required/);
});

test('shapes with all weights zero are rejected', () => {
  const file = writeScenario('name: x\nload: { engine: chunked, items: 1, shapes: { flat: 0, coord: 0 } }\n');
  const error = loadError(file);
  assert.match(error.message, /\$\.load\.shapes: expected relative weights of the two item shapes the API accepts, at least one above 0, .*found \{"flat":0,"coord":0\}$/m);
});

test('contradicting ranges are reported after the schema passes', () => {
  const file = writeScenario('name: x\nload: { engine: chunked, items: 1, textLength: { min: 50, max: 10 } }\n');
  const error = loadError(file);
  assert.match(error.message, /\$\.load\.textLength: expected min <= max, found min 50 and max 10/);
});

test('YAML syntax error gives its line', () => {
  const file = writeScenario('name: x\nload: [unclosed\n');
  const error = loadError(file);
  assert.match(error.message, /scenario\.yaml:\d+:\d+: \$: invalid YAML/);
});

test('duplicate scenario names across files are rejected', () => {
  const first = writeScenario('name: same\nload: { engine: chunked, items: 1 }\n');
  const second = writeScenario('name: same\nload: { engine: chunked, items: 2 }\n');
  const error = loadError([first, second]);
  assert.match(error.message, new RegExp(`${second.replace(/[.]/g, '\\.')}:1:1: \\$\\.name: scenario name "same" is already used at ${first.replace(/[.]/g, '\\.')}:1:1;`));
});

test('duplicate scenario names in one suite give both lines', () => {
  const file = writeScenario('suite: s\nscenarios:\n  - name: a\n    load: { engine: chunked, items: 1 }\n  - name: a\n    load: { engine: chunked, items: 2 }\n');
  const error = loadError(file);
  assert.match(error.message, /scenario\.yaml:5:5: \$\.scenarios\[1\]\.name: scenario name "a" is already used at line 3 of this file; expected unique names/);
  assert.doesNotMatch(error.message, /also in/);
});

test('problems are listed in line order', () => {
  const file = writeScenario('name: x\nload:\n  engine: gatling\n  items: 1\nbogus: 1\nverify: { timeout: soon }\n');
  const error = loadError(file);
  const positions = error.message
    .split('\n')
    .slice(1)
    .map((line) => /scenario\.yaml:(\d+:\d+):/.exec(line)?.[1]);
  assert.deepEqual(positions, ['3:3', '5:1', '6:11'], error.message);
});

test('problem list sorts by column and drops repeats', () => {
  const problems = [
    { path: '$.b', message: 'unknown property', line: 4, column: 1 },
    { path: '$.a.x', message: 'expected integer', line: 3, column: 9 },
    { path: '$.a', message: 'missing', line: 3, column: 3 },
    { path: '$.b', message: 'unknown property', line: 4, column: 1 },
    { path: '$', message: 'invalid YAML' },
  ];
  assert.deepEqual(formatFileProblems('s.yaml', problems), [
    's.yaml: $: invalid YAML',
    's.yaml:3:3: $.a: missing',
    's.yaml:3:9: $.a.x: expected integer',
    's.yaml:4:1: $.b: unknown property',
  ]);
});

test('unknown suite name lists the available suites', () => {
  assert.throws(
    () => loadSuite(['no-such-suite'], { rootDir: ROOT_DIR }),
    (error: unknown) => error instanceof HarnessError && /not found/.test(error.message) && /default/.test(error.hint ?? ''),
  );
});

test('parseDuration reads numbers and unit strings', () => {
  assert.equal(parseDuration(250), 250);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('1.5s'), 1500);
  assert.equal(parseDuration('2m'), 120_000);
  assert.equal(parseDuration('2 minutes'), undefined);
});

test('every suite under scenarios/ is valid', () => {
  for (const name of listSuites(ROOT_DIR)) {
    const suite = loadSuite([name], { rootDir: ROOT_DIR });
    assert.ok(suite.scenarios.length > 0, `${name} has scenarios`);
  }
});
