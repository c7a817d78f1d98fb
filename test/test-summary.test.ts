/**
 * The counts and closing lines of `npm test`: node:test counts from TAP,
 * Playwright counts from a JSON report written by the real Playwright runner,
 * and the type check reported as a step, not as a test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT_DIR } from './support/backends.js';
import { formatSummary, readPlaywrightCounts, readTapCounts } from './support/test-summary.js';

test('TAP summary gives node:test counts', () => {
  mkdirSync(join(ROOT_DIR, '.soma'), { recursive: true });
  const dir = mkdtempSync(join(ROOT_DIR, '.soma', 'summary-'));
  try {
    const tap = join(dir, 'node.tap');
    writeFileSync(tap, 'TAP version 13\nok 1 - a\n1..327\n# tests 330\n# suites 4\n# pass 325\n# fail 1\n# cancelled 1\n# skipped 2\n# todo 1\n');
    assert.deepEqual(readTapCounts(tap), { passed: 325, failed: 2, skipped: 3 });
    assert.equal(readTapCounts(join(dir, 'missing.tap')), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Playwright JSON report counts each test', () => {
  // Inside the checkout, so the spec resolves @playwright/test from its node_modules.
  mkdirSync(join(ROOT_DIR, '.soma'), { recursive: true });
  const dir = mkdtempSync(join(ROOT_DIR, '.soma', 'playwright-count-'));
  try {
    // Three tests that need no browser: two pass and one is skipped.
    writeFileSync(
      join(dir, 'count.spec.ts'),
      "import { test, expect } from '@playwright/test';\n" +
        "test('one', () => { expect(1).toBe(1); });\n" +
        "test('two', () => { expect(2).toBe(2); });\n" +
        "test.skip('three', () => {});\n",
    );
    writeFileSync(join(dir, 'playwright.config.ts'), "export default { testDir: '.', testMatch: '*.spec.ts', workers: 1 };\n");
    const jsonPath = join(dir, 'report.json');
    const result = spawnSync('npx', ['playwright', 'test', '--config', join(dir, 'playwright.config.ts'), '--reporter=json'], {
      cwd: ROOT_DIR,
      env: { ...process.env, PLAYWRIGHT_JSON_OUTPUT_FILE: jsonPath },
      encoding: 'utf8',
    });
    assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
    assert.deepEqual(readPlaywrightCounts(jsonPath), { passed: 2, failed: 0, skipped: 1, errors: [] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('summary counts tests, not the type check', () => {
  const text = formatSummary([
    { step: 'typecheck', ok: true, detail: 'no errors' },
    { step: 'node:test', ok: true, detail: '327 passed, 0 failed', counts: { passed: 327, failed: 0, skipped: 0 } },
    { step: 'playwright', ok: true, detail: '3 passed, 0 failed', counts: { passed: 3, failed: 0, skipped: 0 } },
  ]);
  assert.deepEqual(text.split('\n'), [
    'ok    typecheck: no errors',
    'ok    node:test: 327 passed, 0 failed',
    'ok    playwright: 3 passed, 0 failed',
    '',
    'tests: 330 passed, 0 failed (node:test 327/327, playwright 3/3); typecheck ok',
    '',
  ]);
});

test('summary names a failed step and its failures', () => {
  const text = formatSummary([
    { step: 'typecheck', ok: false, detail: 'tsc exited with 2' },
    { step: 'node:test', ok: false, detail: '320 passed, 7 failed, 1 skipped', counts: { passed: 320, failed: 7, skipped: 1 } },
  ]);
  assert.match(text, /^FAIL  typecheck: tsc exited with 2$/m);
  assert.match(text, /^tests: 320 passed, 7 failed, 1 skipped \(node:test 320\/327\); typecheck failed$/m);
});
