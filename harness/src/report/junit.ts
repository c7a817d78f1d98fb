/**
 * junit.xml: one test suite per scenario with one test case for the scenario
 * itself, one per invariant check, one per threshold and one for the run's
 * validity, so a CI view shows which property failed.
 */
import type { RunSummary, ScenarioSummary } from './summary.js';

interface TestCase {
  name: string;
  classname: string;
  timeSeconds: number;
  failure?: { type: string; message: string; body: string };
  skipped?: string;
}

/** Escapes text for XML attributes and content, dropping characters XML 1.0 forbids. */
export function escapeXml(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function scenarioCases(suite: string, scenario: ScenarioSummary): TestCase[] {
  const classname = `soma.${suite}.${scenario.name}`;
  const cases: TestCase[] = [];
  cases.push({
    name: `scenario ${scenario.name}`,
    classname,
    timeSeconds: scenario.durationMs / 1000,
    failure:
      scenario.verdict === 'passed'
        ? undefined
        : { type: scenario.verdict, message: `${scenario.verdict} (exit ${scenario.exitCode})`, body: scenario.reasons.join('\n') },
  });

  for (const check of scenario.verification.checks) {
    const evidence = `expected: ${check.evidence.expected}\nfound: ${check.evidence.found}\nwhere: ${check.evidence.where}`;
    const sample = check.sample?.length ? `\nsample:\n${check.sample.map((entry) => `  ${entry.id} (${entry.detail})`).join('\n')}` : '';
    cases.push({
      name: `invariant ${check.name}`,
      classname,
      timeSeconds: 0,
      failure: check.status === 'failed' ? { type: 'invariant', message: check.message, body: `${evidence}${sample}` } : undefined,
      skipped: check.status === 'skipped' ? check.message : undefined,
    });
  }

  for (const threshold of scenario.thresholds) {
    cases.push({
      name: `threshold ${threshold.name}`,
      classname,
      timeSeconds: 0,
      failure: threshold.status === 'failed' ? { type: 'threshold', message: threshold.message, body: threshold.message } : undefined,
      skipped: threshold.status === 'not-measured' ? threshold.message : undefined,
    });
  }

  cases.push({
    name: 'validity',
    classname,
    timeSeconds: 0,
    failure:
      scenario.invalidReasons.length > 0
        ? { type: 'invalid', message: scenario.invalidReasons[0] ?? 'invalid run', body: scenario.invalidReasons.join('\n') }
        : undefined,
  });
  return cases;
}

function renderCase(testCase: TestCase): string {
  const attributes = `name="${escapeXml(testCase.name)}" classname="${escapeXml(testCase.classname)}" time="${testCase.timeSeconds.toFixed(3)}"`;
  if (testCase.failure) {
    const { type, message, body } = testCase.failure;
    return `    <testcase ${attributes}>\n      <failure type="${escapeXml(type)}" message="${escapeXml(message)}">${escapeXml(body)}</failure>\n    </testcase>`;
  }
  if (testCase.skipped !== undefined) {
    return `    <testcase ${attributes}>\n      <skipped message="${escapeXml(testCase.skipped)}"/>\n    </testcase>`;
  }
  return `    <testcase ${attributes}/>`;
}

/** Renders the run as JUnit XML. */
export function renderJunit(summary: RunSummary): string {
  const suites = summary.scenarios.map((scenario) => {
    const cases = scenarioCases(summary.suite, scenario);
    const failures = cases.filter((entry) => entry.failure).length;
    const skipped = cases.filter((entry) => entry.skipped !== undefined).length;
    const attributes = [
      `name="${escapeXml(`${summary.suite}.${scenario.name}`)}"`,
      `tests="${cases.length}"`,
      `failures="${failures}"`,
      'errors="0"',
      `skipped="${skipped}"`,
      `time="${(scenario.durationMs / 1000).toFixed(3)}"`,
      `timestamp="${escapeXml(scenario.startedAt)}"`,
    ].join(' ');
    return { xml: `  <testsuite ${attributes}>\n${cases.map(renderCase).join('\n')}\n  </testsuite>`, tests: cases.length, failures };
  });
  const tests = suites.reduce((sum, suite) => sum + suite.tests, 0);
  const failures = suites.reduce((sum, suite) => sum + suite.failures, 0);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="soma-harness ${escapeXml(summary.suite)}" tests="${tests}" failures="${failures}" errors="0" time="${(summary.durationMs / 1000).toFixed(3)}">`,
    ...suites.map((suite) => suite.xml),
    '</testsuites>',
    '',
  ].join('\n');
}
