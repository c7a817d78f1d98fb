/**
 * The kind target's orchestration, run against the recorded command runner
 * (a stand-in: no kind cluster, helm install or image registry can run on the
 * CI machines). Each test pins the exact calls of one branch.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { HarnessError } from '../../exit-codes.js';
import type { ProgressEvent } from '../../progress.js';
import { computeImageTag } from './image.js';
import { createKindTarget } from './index.js';
import { createRecordedRunner, type RecordedCall } from './recorded-runner.js';
import { readState, writeState } from './state.js';

const FULL = 'soma-memory-somafractalmemory';
const TOKEN = 'test-token-0123456789';
const PASSWORD = 'pgSecret42';
const b64 = (text: string) => Buffer.from(text).toString('base64');

let rootDir: string;
let stateDir: string;
let reportDir: string;
let kubeconfig: string;
let tag: string;
let events: ProgressEvent[];

beforeEach(() => {
  rootDir = mkdtempSync(join(tmpdir(), 'soma-kind-test-'));
  mkdirSync(join(rootDir, 'service/src'), { recursive: true });
  writeFileSync(join(rootDir, 'service/Dockerfile'), 'FROM scratch\n');
  writeFileSync(join(rootDir, 'service/src/main.ts'), 'export {};\n');
  writeFileSync(join(rootDir, 'package.json'), '{}\n');
  stateDir = join(rootDir, '.soma/kind');
  reportDir = join(rootDir, 'reports/run-1');
  kubeconfig = join(stateDir, 'kubeconfig');
  tag = computeImageTag(rootDir);
  events = [];
});

afterEach(() => {
  rmSync(rootDir, { recursive: true, force: true });
});

function makeTarget(script: RecordedCall[], env: NodeJS.ProcessEnv = {}) {
  const runner = createRecordedRunner(script);
  const target = createKindTarget({
    rootDir,
    env,
    progress: (event) => events.push(event),
    stateDir,
    flags: { 'report-dir': reportDir },
    runner,
    watchIntervalMs: 0,
  });
  return { runner, target };
}

// ---- call builders: each returns the literal lines of one phase ----

const kubectl = (args: string) => `run: kubectl --kubeconfig ${kubeconfig} -n soma ${args}`;
const helm = (args: string) => `run: helm ${args} -n soma --kubeconfig ${kubeconfig}`;

function preflight(): RecordedCall[] {
  return [
    { call: 'run: docker version --format {{.Client.Version}}', result: { stdout: '28.2.2\n' } },
    { call: 'run: kind version', result: { stdout: 'kind v0.33.0 go1.26 linux/amd64\n' } },
    { call: 'run: kubectl version --client', result: { stdout: 'Client Version: v1.37.0\n' } },
    { call: 'run: helm version --short', result: { stdout: 'v4.3.2\n' } },
    { call: 'run: docker info --format {{.ServerVersion}}', result: { stdout: '28.2.2\n' } },
  ];
}

function cluster(exists: boolean): RecordedCall[] {
  const calls: RecordedCall[] = [{ call: 'run: kind get clusters', result: { stdout: exists ? 'other\nsoma-cluster\n' : '', stderr: exists ? '' : 'No kind clusters found.\n' } }];
  if (!exists) calls.push({ call: `run: kind create cluster --config kind/cluster.yaml --name soma-cluster --kubeconfig ${kubeconfig} --wait 120s` });
  calls.push({ call: 'run: kind get kubeconfig --name soma-cluster', result: { stdout: 'apiVersion: v1\nkind: Config\n' } });
  return calls;
}

function image(exists: boolean): RecordedCall[] {
  const calls: RecordedCall[] = [{ call: `run: docker image inspect --format {{.Id}} soma-memory:${tag}`, result: exists ? { stdout: 'sha256:abc\n' } : { exitCode: 1, stderr: 'Error: No such image\n' } }];
  if (!exists) calls.push({ call: `run: docker build --file service/Dockerfile --tag soma-memory:${tag} .` });
  calls.push({ call: `run: kind load docker-image soma-memory:${tag} --name soma-cluster` });
  return calls;
}

function releaseLookup(namespaceExists: boolean, releases: object[]): RecordedCall[] {
  return [
    { call: `run: kubectl --kubeconfig ${kubeconfig} get namespace soma -o name`, result: namespaceExists ? { stdout: 'namespace/soma\n' } : { exitCode: 1, stderr: 'Error from server (NotFound): namespaces "soma" not found\n' } },
    { call: helm('list --all --filter ^soma-memory$ -o json'), result: { stdout: JSON.stringify(releases) } },
  ];
}

function install(): RecordedCall[] {
  return [{ call: helm(`upgrade --install soma-memory ./helm --create-namespace --wait --timeout 600s -f helm/values-kind.yaml --set image.tag=${tag}`) }];
}

function rollouts(): RecordedCall[] {
  return [
    `deployment/${FULL}`,
    `deployment/${FULL}-consumer`,
    `statefulset/${FULL}-postgres`,
    `statefulset/${FULL}-qdrant`,
    `statefulset/${FULL}-kafka`,
  ].map((workload) => ({ call: kubectl(`rollout status ${workload} --timeout=600s`) }));
}

function secrets(): RecordedCall[] {
  return [
    { call: kubectl(`get secret ${FULL}-api-token -o jsonpath={.data.api-token}`), result: { stdout: b64(TOKEN) } },
    { call: kubectl(`get secret ${FULL}-postgres -o jsonpath={.data.password}`), result: { stdout: b64(PASSWORD) } },
  ];
}

const FORWARDS = [
  { name: 'api', service: FULL, local: 9595, remote: 9595, pid: 4001 },
  { name: 'postgres', service: `${FULL}-postgres`, local: 15432, remote: 5432, pid: 4002 },
  { name: 'qdrant', service: `${FULL}-qdrant`, local: 16333, remote: 6333, pid: 4003 },
];

function forwardSpawn(forward: (typeof FORWARDS)[number]): RecordedCall {
  return {
    call: `spawn: kubectl --kubeconfig ${kubeconfig} -n soma port-forward --address 127.0.0.1 service/${forward.service} ${forward.local}:${forward.remote}`,
    pid: forward.pid,
  };
}

function portForwards(): RecordedCall[] {
  return FORWARDS.flatMap((forward) => [
    { call: `port-free: ${forward.local}`, answer: true },
    forwardSpawn(forward),
    { call: `port-free: ${forward.local}`, answer: false },
  ]);
}

function kafkaCheck(): RecordedCall[] {
  return [{ call: 'kafka-brokers: 127.0.0.1:30092', brokers: ['127.0.0.1:30092'] }];
}

async function rejectsWith(promise: Promise<unknown>): Promise<HarnessError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof HarnessError, `expected a HarnessError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the promise to reject');
}

const warnings = () => events.filter((event) => event.kind === 'warn').map((event) => (event as { message: string }).message);

describe('kind target up', () => {
  test('fresh install runs the exact command list', async () => {
    const script = [...preflight(), ...cluster(false), ...image(false), ...releaseLookup(false, []), ...install(), ...rollouts(), ...secrets(), ...portForwards(), ...kafkaCheck()];
    const { runner, target } = makeTarget(script);

    const endpoints = await target.up();

    runner.assertDone();
    assert.deepEqual(runner.calls, script.map((entry) => entry.call));
    assert.equal(endpoints.apiUrl, 'http://127.0.0.1:9595');
    assert.equal(endpoints.apiToken, TOKEN);
    assert.equal(endpoints.postgresUrl, `postgres://soma:${PASSWORD}@127.0.0.1:15432/soma`);
    assert.equal(endpoints.qdrantUrl, 'http://127.0.0.1:16333');
    assert.deepEqual(endpoints.kafkaBrokers, ['127.0.0.1:30092']);
    assert.deepEqual(endpoints.consumerGroups, ['soma-kv-writer', 'soma-vector-indexer']);
    assert.match(tag, /^src-[0-9a-f]{12}$/);

    const state = readState(stateDir);
    assert.equal(state.clusterCreated, true);
    assert.equal(state.releaseInstalled, true);
    assert.equal(state.namespaceCreated, true);
    assert.deepEqual(state.imageTags, [tag]);
    assert.equal(readFileSync(join(stateDir, 'port-forwards/api.pid'), 'utf8').trim(), '4001');
    assert.ok(existsSync(join(stateDir, 'port-forwards/api.log')));
    assert.equal(readFileSync(kubeconfig, 'utf8'), 'apiVersion: v1\nkind: Config\n');
  });

  test('existing cluster is reused and not deleted by down', async () => {
    const script = [...preflight(), ...cluster(true), ...image(true), ...releaseLookup(false, []), ...install(), ...rollouts(), ...secrets(), ...portForwards(), ...kafkaCheck()];
    const { runner, target } = makeTarget(script);
    await target.up();
    runner.assertDone();
    assert.equal(readState(stateDir).clusterCreated, false);
    assert.ok(!runner.calls.some((call) => call.startsWith('run: kind create')));
    assert.ok(!runner.calls.some((call) => call.startsWith('run: docker build')), 'an existing image with the same content tag is not rebuilt');

    const downScript: RecordedCall[] = [
      ...FORWARDS.flatMap((forward) => [
        { call: `alive: ${forward.pid}`, answer: true },
        { call: `kill: ${forward.pid} SIGTERM` },
      ]),
      { call: helm('uninstall soma-memory --wait --ignore-not-found') },
      { call: kubectl('delete pvc -l app.kubernetes.io/instance=soma-memory --ignore-not-found') },
      { call: `run: kubectl --kubeconfig ${kubeconfig} delete namespace soma --ignore-not-found` },
    ];
    const second = makeTarget(downScript);
    await second.target.down();
    second.runner.assertDone();
    assert.ok(!second.runner.calls.some((call) => call.includes('kind delete')));
    assert.ok(!existsSync(join(stateDir, 'port-forwards/api.pid')));
  });

  test('existing release is upgraded in place and left alone by down', async () => {
    const deployed = [{ name: 'soma-memory', namespace: 'soma', revision: '3', status: 'deployed' }];
    const script = [...preflight(), ...cluster(true), ...image(true), ...releaseLookup(true, deployed), ...install(), ...rollouts(), ...secrets(), ...portForwards(), ...kafkaCheck()];
    const { runner, target } = makeTarget(script);
    await target.up();
    runner.assertDone();
    const state = readState(stateDir);
    assert.equal(state.releaseInstalled, false);
    assert.equal(state.namespaceCreated, false);

    const downScript: RecordedCall[] = FORWARDS.flatMap((forward) => [
      { call: `alive: ${forward.pid}`, answer: true },
      { call: `kill: ${forward.pid} SIGTERM` },
    ]);
    const second = makeTarget(downScript);
    await second.target.down();
    second.runner.assertDone();
    assert.ok(events.some((event) => event.kind === 'info' && /nothing to delete/.test(event.message)));
  });

  test('port in use fails with exit 2 naming the port and the variable', async () => {
    const script = [...preflight(), ...cluster(true), ...image(true), ...releaseLookup(true, []), ...install(), ...rollouts(), ...secrets(), { call: 'port-free: 9595', answer: false }];
    const { runner, target } = makeTarget(script);
    const error = await rejectsWith(target.up());
    runner.assertDone();
    assert.equal(error.exitCode, 2);
    assert.match(error.message, /port 9595 on 127\.0\.0\.1 \(port-forward for api\) is in use/);
    assert.match(error.hint ?? '', /SOMA_KIND_API_PORT/);
    assert.ok(!runner.calls.some((call) => call.startsWith('spawn:')));
  });

  test('rollout timeout prints pod reasons, collects logs and events, exits 2', async () => {
    const pods = {
      items: [
        {
          metadata: { name: `${FULL}-7d9c-abcde` },
          status: { phase: 'Pending', containerStatuses: [{ name: 'api', ready: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "soma-memory:${tag}"` } } }] },
        },
        {
          metadata: { name: `${FULL}-consumer-5f6b-xyz12` },
          status: { phase: 'Running', containerStatuses: [{ name: 'consumer', ready: false, restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { reason: 'Error', exitCode: 1 } } }] },
        },
        {
          metadata: { name: `${FULL}-postgres-0` },
          status: { phase: 'Running', containerStatuses: [{ name: 'postgres', ready: true, restartCount: 0, state: {} }] },
        },
      ],
    };
    const script: RecordedCall[] = [
      ...preflight(), ...cluster(true), ...image(true), ...releaseLookup(true, []),
      { call: helm(`upgrade --install soma-memory ./helm --create-namespace --wait --timeout 600s -f helm/values-kind.yaml --set image.tag=${tag}`), result: { exitCode: 1, stderr: 'Error: UPGRADE FAILED: context deadline exceeded\n' } },
      { call: kubectl('get pods -l app.kubernetes.io/name=somafractalmemory -o json'), result: { stdout: JSON.stringify(pods) } },
      { call: kubectl(`logs ${FULL}-7d9c-abcde --all-containers --prefix --tail=2000`), result: { exitCode: 1, stderr: 'container "api" is waiting to start: image can\'t be pulled\n' } },
      { call: kubectl(`logs ${FULL}-consumer-5f6b-xyz12 --all-containers --prefix --tail=2000`), result: { stdout: '[pod/x/consumer] {"level":50,"msg":"config invalid"}\n' } },
      { call: kubectl(`logs ${FULL}-postgres-0 --all-containers --prefix --tail=2000`), result: { stdout: 'database system is ready\n' } },
      { call: kubectl('get events --sort-by=.lastTimestamp'), result: { stdout: 'LAST SEEN   TYPE      REASON    OBJECT   MESSAGE\n1m   Warning   Failed   pod/x   Failed to pull image\n' } },
    ];
    const { runner, target } = makeTarget(script);

    const error = await rejectsWith(target.up());

    runner.assertDone();
    assert.equal(error.exitCode, 2);
    assert.match(error.message, /did not become ready within 600s/);
    assert.match(error.message, new RegExp(`pod ${FULL}-7d9c-abcde container api: ImagePullBackOff`));
    assert.match(error.message, new RegExp(`pod ${FULL}-consumer-5f6b-xyz12 container consumer: CrashLoopBackOff \\(exit code 1, 4 restarts\\)`));
    assert.doesNotMatch(error.message, /postgres-0/);
    assert.ok(warnings().some((message) => message.includes('ImagePullBackOff')));
    assert.ok(warnings().some((message) => message.includes('CrashLoopBackOff')));
    assert.match(readFileSync(join(reportDir, 'events.txt'), 'utf8'), /Failed to pull image/);
    assert.match(readFileSync(join(reportDir, `logs/${FULL}-consumer-5f6b-xyz12.log`), 'utf8'), /config invalid/);
    assert.match(readFileSync(join(reportDir, `logs/${FULL}-7d9c-abcde.log`), 'utf8'), /kubectl logs failed/);
    assert.match(readFileSync(join(reportDir, 'pod-problems.txt'), 'utf8'), /ImagePullBackOff/);
    assert.equal(readState(stateDir).releaseInstalled, true, 'a failed install is still recorded so down removes it');
  });

  test('release left pending-install is uninstalled, then installed', async () => {
    const pending = [{ name: 'soma-memory', namespace: 'soma', revision: '1', status: 'pending-install' }];
    const script = [
      ...preflight(), ...cluster(true), ...image(true), ...releaseLookup(true, pending),
      { call: helm('uninstall soma-memory --wait --timeout 600s') },
      ...install(), ...rollouts(), ...secrets(), ...portForwards(), ...kafkaCheck(),
    ];
    const { runner, target } = makeTarget(script);
    await target.up();
    runner.assertDone();
    assert.ok(warnings().some((message) => /pending-install \(revision 1\); uninstalling/.test(message)));
    assert.equal(readState(stateDir).releaseInstalled, true);
  });

  test('release left pending-upgrade is rolled back, then upgraded', async () => {
    const pending = [{ name: 'soma-memory', namespace: 'soma', revision: '4', status: 'pending-upgrade' }];
    const script = [
      ...preflight(), ...cluster(true), ...image(true), ...releaseLookup(true, pending),
      { call: helm('rollback soma-memory --wait --timeout 600s') },
      ...install(), ...rollouts(), ...secrets(), ...portForwards(), ...kafkaCheck(),
    ];
    const { runner, target } = makeTarget(script);
    await target.up();
    runner.assertDone();
    assert.ok(warnings().some((message) => /pending-upgrade \(revision 4\); rolling back/.test(message)));
    assert.equal(readState(stateDir).releaseInstalled, false);
  });

  test('missing tools fail with exit 2 and name each with its install hint', async () => {
    const script: RecordedCall[] = [
      { call: 'run: docker version --format {{.Client.Version}}', result: { stdout: '28.2.2\n' } },
      { call: 'run: kind version', result: { exitCode: 127, stderr: 'spawn kind ENOENT\n' } },
      { call: 'run: kubectl version --client', result: { stdout: 'Client Version: v1.37.0\n' } },
      { call: 'run: helm version --short', result: { exitCode: 127, stderr: 'spawn helm ENOENT\n' } },
      { call: 'run: docker info --format {{.ServerVersion}}', result: { stdout: '28.2.2\n' } },
    ];
    const { runner, target } = makeTarget(script);
    const error = await rejectsWith(target.up());
    runner.assertDone();
    assert.equal(error.exitCode, 2);
    assert.match(error.message, /2 prerequisite\(s\) missing/);
    assert.match(error.message, /kind: not found on PATH; install kind v0\.33\.0: go install sigs\.k8s\.io\/kind@v0\.33\.0/);
    assert.match(error.message, /helm: not found on PATH; install helm v4\.3\.2: go install helm\.sh\/helm\/v4\/cmd\/helm@v4\.3\.2/);
    assert.doesNotMatch(error.message, /kubectl:/);
    assert.ok(!existsSync(stateDir), 'nothing is created before preflight passes');
  });

  test('docker daemon that does not answer fails preflight with exit 2', async () => {
    const script: RecordedCall[] = [
      ...preflight().slice(0, 4),
      { call: 'run: docker info --format {{.ServerVersion}}', result: { exitCode: 1, stderr: 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n' } },
    ];
    const { runner, target } = makeTarget(script);
    const error = await rejectsWith(target.up());
    runner.assertDone();
    assert.equal(error.exitCode, 2);
    assert.match(error.message, /docker daemon: not answering \(Cannot connect to the Docker daemon/);
  });

  test('Kafka advertising an in-cluster address fails and stops the forwards', async () => {
    const script: RecordedCall[] = [
      ...preflight(), ...cluster(true), ...image(true), ...releaseLookup(true, []), ...install(), ...rollouts(), ...secrets(), ...portForwards(),
      { call: 'kafka-brokers: 127.0.0.1:30092', brokers: [`${FULL}-kafka-0.${FULL}-kafka-headless.soma.svc:9092`] },
      ...FORWARDS.flatMap((forward) => [
        { call: `alive: ${forward.pid}`, answer: true },
        { call: `kill: ${forward.pid} SIGTERM` },
      ]),
    ];
    const { runner, target } = makeTarget(script);
    const error = await rejectsWith(target.up());
    runner.assertDone();
    assert.equal(error.exitCode, 2);
    assert.match(error.message, /advertises soma-memory-somafractalmemory-kafka-0\..* instead of 127\.0\.0\.1:30092/);
  });

  test('down after a fresh install deletes the cluster it created', async () => {
    writeState(stateDir, { clusterCreated: true, namespaceCreated: true, releaseInstalled: true, imageTag: tag, imageTags: [tag] });
    mkdirSync(join(stateDir, 'port-forwards'), { recursive: true });
    writeFileSync(join(stateDir, 'port-forwards/api.pid'), '4001\n');
    const script: RecordedCall[] = [
      { call: 'alive: 4001', answer: false },
      { call: 'run: kind get clusters', result: { stdout: 'soma-cluster\n' } },
      { call: 'run: kind delete cluster --name soma-cluster' },
    ];
    const { runner, target } = makeTarget(script);
    await target.down();
    runner.assertDone();
    assert.equal(readState(stateDir).clusterCreated, false);
    assert.ok(!existsSync(join(stateDir, 'port-forwards/api.pid')));
  });
});

describe('kind target actions', () => {
  beforeEach(() => {
    writeState(stateDir, { clusterCreated: true, namespaceCreated: true, releaseInstalled: true, imageTag: tag, imageTags: [tag] });
    mkdirSync(join(stateDir, 'port-forwards'), { recursive: true });
    for (const forward of FORWARDS) writeFileSync(join(stateDir, `port-forwards/${forward.name}.pid`), `${forward.pid}\n`);
  });

  test('helm-upgrade retags the image, upgrades and restarts dropped forwards', async () => {
    const newTag = `${tag}-upgrade-1`;
    const script: RecordedCall[] = [
      { call: `run: docker image inspect --format {{.Id}} soma-memory:${newTag}`, result: { exitCode: 1 } },
      { call: `run: docker tag soma-memory:${tag} soma-memory:${newTag}` },
      { call: `run: kind load docker-image soma-memory:${newTag} --name soma-cluster` },
      { call: helm(`upgrade soma-memory ./helm --wait --timeout 600s -f helm/values-kind.yaml --set image.tag=${newTag}`) },
      { call: 'alive: 4001', answer: false },
      { ...forwardSpawn({ ...FORWARDS[0]!, pid: 5001 }) },
      { call: 'port-free: 9595', answer: false },
      { call: 'alive: 4002', answer: true },
      { call: 'alive: 4003', answer: true },
    ];
    const { runner, target } = makeTarget(script);
    await target.runAction!({ action: 'helm-upgrade', params: {} });
    runner.assertDone();
    assert.deepEqual(readState(stateDir).imageTags, [tag, newTag]);
    assert.equal(readFileSync(join(stateDir, 'port-forwards/api.pid'), 'utf8').trim(), '5001');
    assert.ok(warnings().some((message) => /port-forward api \(pid 4001\) is gone; restarting it/.test(message)));
  });

  test('helm-rollback goes to the given revision', async () => {
    const script: RecordedCall[] = [
      { call: helm('rollback soma-memory 2 --wait --timeout 600s') },
      { call: 'alive: 4001', answer: true },
      { call: 'alive: 4002', answer: true },
      { call: 'alive: 4003', answer: true },
    ];
    const { runner, target } = makeTarget(script);
    await target.runAction!({ action: 'helm-rollback', params: { revision: 2 } });
    runner.assertDone();
  });

  test('helm-rollback rejects a revision that is not a positive integer', async () => {
    const { runner, target } = makeTarget([]);
    const error = await rejectsWith(target.runAction!({ action: 'helm-rollback', params: { revision: 'two' } }));
    runner.assertDone();
    assert.equal(error.exitCode, 2);
    assert.match(error.message, /revision "two" is invalid/);
  });

  test('unknown action names the actions the target has', async () => {
    const { target } = makeTarget([]);
    const error = await rejectsWith(target.runAction!({ action: 'stop-component', params: { component: 'api' } }));
    assert.match(error.message, /no action "stop-component"/);
    assert.match(error.hint ?? '', /helm-upgrade, helm-rollback/);
  });
});

describe('recorded runner', () => {
  test('rejects a call that differs from the script', async () => {
    const runner = createRecordedRunner([{ call: 'run: kind get clusters' }]);
    await assert.rejects(runner.run('kind', ['delete', 'cluster']), /expected: run: kind get clusters\n {2}actual: {3}run: kind delete cluster/);
  });

  test('reports scripted calls that were never made', () => {
    const runner = createRecordedRunner([{ call: 'run: kind get clusters' }]);
    assert.throws(() => runner.assertDone(), /stopped after 0 of 1 scripted calls/);
  });
});
