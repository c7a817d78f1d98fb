import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CpuSummary } from '../load/cpu-monitor.js';
import { sampleScenario } from '../report/summary-fixture.js';
import { computeFigures, evaluateThresholds } from './thresholds.js';
import type { InvariantCheck } from './types.js';
import { assessValidity, combineVerdicts, cpuNotJudgedReason, exitCodeOf, judgeScenario, MIN_CPU_SAMPLES, MIN_CPU_WINDOW_MS } from './verdict.js';

/** A CPU summary of a load that lasted `wallMs`, with one sample per 500 ms. */
function cpu(meanCores: number, wallMs = 5000): CpuSummary {
  const samples = Array.from({ length: Math.max(1, Math.floor(wallMs / 500)) }, (_, index) => ({
    tMs: Math.min(wallMs, (index + 1) * 500),
    cores: meanCores,
    eventLoopDelayP99Ms: 1,
  }));
  return { wallMs, cpuMs: meanCores * wallMs, meanCores, maxCores: meanCores, maxEventLoopDelayP99Ms: 1, samples };
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

test('harness CPU of a short load is not judged', () => {
  const short = cpu(1.4, 100);
  const reasons = assessValidity({ validity: VALIDITY, acknowledgedItems: 1000, cpu: short, actions: [], verification });
  assert.deepEqual(reasons, []);
  assert.equal(
    cpuNotJudgedReason(short),
    'harness CPU not judged: the load lasted 0.1 s with 1 CPU sample(s), and saturation is judged only over at least 2 s and 4 samples',
  );
});

test('harness CPU with too few samples is not judged', () => {
  const sparse = { ...cpu(1.4, 3000), samples: cpu(1.4, 1500).samples };
  assert.deepEqual(assessValidity({ validity: VALIDITY, acknowledgedItems: 1000, cpu: sparse, actions: [], verification }), []);
  assert.match(cpuNotJudgedReason(sparse) ?? '', /lasted 3\.0 s with 3 CPU sample\(s\)/);
});

test('harness CPU over the minimum window is judged', () => {
  const minimal = cpu(1.4, MIN_CPU_WINDOW_MS);
  assert.equal(minimal.samples.length, MIN_CPU_SAMPLES);
  assert.equal(cpuNotJudgedReason(minimal), undefined);
  assert.equal(assessValidity({ validity: VALIDITY, acknowledgedItems: 1000, cpu: minimal, actions: [], verification }).length, 1);
});

test('load failure replaces the data and CPU verdicts', () => {
  const loadFailure = 'every request (2 of 2) was answered with HTTP 401 SOMA_ERR_AUTH_MISSING_TOKEN: token missing: set SOMA_API_TOKEN';
  const reasons = assessValidity({ validity: VALIDITY, acknowledgedItems: 0, cpu: cpu(1.4), actions: [], verification, loadFailure });
  assert.deepEqual(reasons, []);
  const judgement = judgeScenario([check('items.lost', 'passed')], [], reasons, [], loadFailure);
  assert.equal(judgement.verdict, 'error');
  assert.equal(exitCodeOf(judgement.verdict), 2);
  assert.deepEqual(judgement.reasons, [loadFailure]);
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
