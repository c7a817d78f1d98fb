import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CpuSummary } from '../load/cpu-monitor.js';
import { sampleScenario } from '../report/summary-fixture.js';
import { computeFigures, evaluateThresholds } from './thresholds.js';
import type { InvariantCheck } from './types.js';
import { assessValidity, combineVerdicts, exitCodeOf, judgeScenario } from './verdict.js';

function cpu(meanCores: number): CpuSummary {
  return { wallMs: 1000, cpuMs: meanCores * 1000, meanCores, maxCores: meanCores, maxEventLoopDelayP99Ms: 1, samples: [] };
}

const VALIDITY = { maxHarnessCpu: 0.9, minAcknowledgedItems: 10 };
const verification = sampleScenario().verification;

function check(name: string, status: InvariantCheck['status']): InvariantCheck {
  return { name, status, message: `${name} ${status}`, evidence: { expected: 0, found: status === 'failed' ? 1 : 0, where: 'test' } };
}

test('verdicts map to the documented exit codes', () => {
  assert.equal(exitCodeOf('passed'), 0);
  assert.equal(exitCodeOf('threshold-failed'), 1);
  assert.equal(exitCodeOf('error'), 2);
  assert.equal(exitCodeOf('invariant-failed'), 3);
  assert.equal(exitCodeOf('invalid'), 4);
});

test('most serious verdict wins', () => {
  assert.equal(combineVerdicts(['passed', 'threshold-failed', 'invalid']), 'invalid');
  assert.equal(combineVerdicts(['invalid', 'invariant-failed']), 'invariant-failed');
  assert.equal(combineVerdicts(['invariant-failed', 'error']), 'error');
  assert.equal(combineVerdicts([]), 'passed');
});

test('saturated harness CPU makes the run invalid', () => {
  const reasons = assessValidity({ validity: VALIDITY, acknowledgedItems: 1000, cpu: cpu(0.95), actions: [], verification });
  assert.equal(reasons.length, 1);
  assert.match(reasons[0] ?? '', /^the load generator saturated its CPU: the harness used 0\.95 cores on average during the load \(limit 0\.9\)/);
});

test('too few acknowledged items make the run invalid', () => {
  const reasons = assessValidity({ validity: VALIDITY, acknowledgedItems: 3, cpu: cpu(0.1), actions: [], verification });
  assert.deepEqual(reasons, ['too little data to judge: 3 items acknowledged, at least 10 needed']);
});

test('failed action makes the run invalid', () => {
  const reasons = assessValidity({
    validity: VALIDITY,
    acknowledgedItems: 100,
    cpu: cpu(0.1),
    actions: [{ at: '50%', action: 'stop-component', params: {}, status: 'failed', error: 'no such component' }],
    verification,
  });
  assert.deepEqual(reasons, ['action stop-component at 50% failed: no such component']);
});

test('failed invariant outranks an invalid run and a threshold', () => {
  const judgement = judgeScenario(
    [check('items.lost', 'failed'), check('items.phantom', 'passed')],
    [{ name: 'latencyP99Ms', figure: 'latencyP99Ms', comparator: '<=', limit: 1, measured: 2, status: 'failed', message: 'p99 latency 2 ms, limit <= 1 ms' }],
    ['too little data to judge'],
    [],
  );
  assert.equal(judgement.verdict, 'invariant-failed');
  assert.deepEqual(judgement.reasons, ['items.lost failed', 'too little data to judge', 'threshold latencyP99Ms: p99 latency 2 ms, limit <= 1 ms']);
});

test('unreadable store count is an environment error', () => {
  const unreadable: InvariantCheck = { name: 'postgres.count', status: 'failed', message: 'x', evidence: { expected: 10, found: -1, where: 'q' } };
  assert.equal(judgeScenario([unreadable], [], [], ['postgres: connection refused']).verdict, 'error');
});

test('thresholds compare figures with their limits', () => {
  const figures = { latencyP99Ms: 120, acknowledgedItemsPerSecond: 40, consistencyP99Ms: 300 };
  const results = evaluateThresholds(
    { latencyP99Ms: 100, minItemsPerSecond: 50, consistencyP99Ms: 500, drainMs: 1000, maxFailedItems: 0 },
    figures,
    { failedItems: 0, rejectedItems: 0 },
  );
  assert.deepEqual(
    results.map((result) => [result.name, result.status, result.measured]),
    [
      ['latencyP99Ms', 'failed', 120],
      ['minItemsPerSecond', 'failed', 40],
      ['consistencyP99Ms', 'passed', 300],
      ['drainMs', 'not-measured', null],
      ['maxFailedItems', 'passed', 0],
    ],
  );
  assert.equal(results[0]?.message, 'p99 latency 120 ms, limit <= 100 ms');
  assert.equal(results[1]?.message, 'acknowledged items per second 40 items/s, limit >= 50 items/s');
});

test('figures leave out what was not measured', () => {
  const scenario = sampleScenario();
  const noLag = { ...scenario.verification, lag: { ...scenario.verification.lag, checked: false } };
  const figures = computeFigures({ latency: scenario.load.latency, acknowledgedItems: 1000, loadDurationMs: 2000, verification: noLag, cpu: cpu(0.2) });
  assert.equal(figures.acknowledgedItemsPerSecond, 500);
  assert.equal(figures.lagDrainMs, undefined);
  assert.equal(figures.consistencyP99Ms, 759.5);
  assert.equal(figures.consistencyPostgresP99Ms, 600);
  assert.equal(figures.latencyP99Ms, scenario.load.latency.p99Ms);
});
