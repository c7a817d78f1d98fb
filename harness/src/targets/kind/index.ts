/**
 * The kind target: a local Kubernetes cluster made by kind, the service image
 * built and loaded into it, and the chart installed with helm. See
 * docs/kind.md for prerequisites and the Kafka lag approach.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { usageError } from '../../exit-codes.js';
import { runStep } from '../../progress.js';
import type { TargetOptions } from '../index.js';
import type { ComponentStatus, DownOptions, Target, TargetAction, TargetEndpoints } from '../types.js';
import { deleteCluster, clusterExists, ensureCluster, writeKubeconfig } from './cluster.js';
import { createProcessRunner, type CommandRunner } from './command-runner.js';
import { collectDiagnostics, formatPodProblem } from './diagnostics.js';
import { computeImageTag, ensureImage, imageExists, imageRef, loadImage, tagImage } from './image.js';
import { helm, kubectl, tailOutput } from './kube.js';
import { PortForwards } from './port-forwards.js';
import { runPreflight } from './preflight.js';
import {
  RolloutError,
  installRelease,
  namespaceExists,
  readRelease,
  readSecret,
  recoverRelease,
  rollbackRelease,
  upgradeRelease,
  waitForRollouts,
} from './release.js';
import {
  CHART_LABEL,
  CLUSTER_NAME,
  DEFAULT_GROUPS,
  DEFAULT_NAMESPACE,
  DEFAULT_TOPIC,
  FULLNAME,
  KAFKA_EXTERNAL_PORT,
  NAMESPACE,
  POSTGRES_DATABASE,
  POSTGRES_USER,
  RELEASE_NAME,
  resolveKindSettings,
  type KindSettings,
} from './settings.js';
import { clearState, readState, writeState, type KindState } from './state.js';

export interface KindTargetOptions extends TargetOptions {
  /** Runs docker, kind, kubectl and helm; tests pass a recorded runner. */
  runner?: CommandRunner;
  /** Interval of the port-forward watchdog while this process runs; 0 turns it off. */
  watchIntervalMs?: number;
  /** Clock for the names of diagnostics folders. */
  now?: () => Date;
}

export const KIND_ACTIONS = ['helm-upgrade', 'helm-rollback'] as const;

const KAFKA_EXTERNAL_BROKER = `127.0.0.1:${KAFKA_EXTERNAL_PORT}`;

export function createKindTarget(options: KindTargetOptions): Target {
  const settings = resolveKindSettings(options);
  const runner = options.runner ?? createProcessRunner();
  const progress = options.progress;
  const forwards = new PortForwards(runner, settings, progress);
  const now = options.now ?? (() => new Date());
  const watchIntervalMs = options.watchIntervalMs ?? 2000;
  let stopWatchdog: (() => void) | undefined;

  const diagnosticsDir = () => settings.diagnosticsDir ?? join(settings.stateDir, 'diagnostics', now().toISOString().replace(/[:.]/g, '-'));

  async function reportRolloutFailure(error: RolloutError, signal?: AbortSignal): Promise<never> {
    const dir = diagnosticsDir();
    const diagnostics = await collectDiagnostics(runner, settings, dir, signal);
    for (const problem of diagnostics.problems) progress({ kind: 'warn', message: formatPodProblem(problem) });
    progress({ kind: 'info', message: `pod logs and events written to ${dir}` });
    const reasons = diagnostics.problems.map(formatPodProblem);
    throw usageError(
      `${error.message}${reasons.length ? `\n  not ready:\n    ${reasons.join('\n    ')}` : ''}`,
      `pod logs and \`kubectl get events\` are in ${dir}`,
      error,
    );
  }

  async function installChart(state: KindState, imageTag: string, signal?: AbortSignal): Promise<void> {
    const namespaceExisted = await namespaceExists(runner, settings, signal);
    let release = await readRelease(runner, settings, signal);
    if (release) {
      const recovered = await recoverRelease(runner, settings, release, progress, signal);
      if (recovered?.startsWith('uninstalled')) release = undefined;
    }

    // Recorded before helm runs, so `down` also removes a half-finished install.
    state.namespaceCreated ||= !namespaceExisted;
    state.releaseInstalled ||= release === undefined;
    writeState(settings.stateDir, state);

    try {
      await runStep(progress, `helm upgrade --install ${RELEASE_NAME}`, () => installRelease(runner, settings, imageTag, signal));
      await runStep(progress, 'rollouts', () => waitForRollouts(runner, settings, signal));
    } catch (error) {
      if (error instanceof RolloutError && !signal?.aborted) await reportRolloutFailure(error, signal);
      throw error;
    }
  }

  async function checkKafkaExternalListener(): Promise<string[]> {
    let brokers: string[];
    try {
      brokers = await runner.readKafkaBrokers([KAFKA_EXTERNAL_BROKER]);
    } catch (error) {
      throw usageError(
        `Kafka is not reachable at ${KAFKA_EXTERNAL_BROKER} from this machine: ${error instanceof Error ? error.message : String(error)}`,
        'the kind node must publish NodePort 30092 on 127.0.0.1 (kind/cluster.yaml extraPortMappings); a cluster created from another config lacks it: run `soma-harness down --target kind` and `up` again',
        error,
      );
    }
    if (!brokers.includes(KAFKA_EXTERNAL_BROKER)) {
      throw usageError(
        `Kafka at ${KAFKA_EXTERNAL_BROKER} advertises ${brokers.join(', ') || 'no brokers'} instead of ${KAFKA_EXTERNAL_BROKER}`,
        'set kafka.externalAccess.advertisedHost and nodePort in helm/values-kind.yaml to 127.0.0.1 and 30092',
      );
    }
    return brokers;
  }

  function buildEndpoints(apiToken: string, postgresPassword: string): TargetEndpoints {
    const port = (name: string) => settings.forwards.find((spec) => spec.name === name)?.localPort ?? 0;
    return {
      target: 'kind',
      apiUrl: `http://127.0.0.1:${port('api')}`,
      apiToken,
      postgresUrl: `postgres://${POSTGRES_USER}:${encodeURIComponent(postgresPassword)}@127.0.0.1:${port('postgres')}/${POSTGRES_DATABASE}`,
      qdrantUrl: `http://127.0.0.1:${port('qdrant')}`,
      kafkaBrokers: [KAFKA_EXTERNAL_BROKER],
      topic: DEFAULT_TOPIC,
      consumerGroups: [...DEFAULT_GROUPS],
      namespace: DEFAULT_NAMESPACE,
      // NOTE: only the API's /metrics is scraped on kind: the consumer pods
      // have no port-forward, so their batches, writes and lag are not on
      // the report's timeline.
      metricsUrls: { api: `http://127.0.0.1:${port('api')}/metrics` },
    };
  }

  async function up(): Promise<TargetEndpoints> {
    const signal = options.signal;
    await runStep(progress, 'preflight: docker, kind, kubectl, helm', () => runPreflight(runner, signal));
    mkdirSync(settings.stateDir, { recursive: true });
    const state = readState(settings.stateDir);

    const created = await runStep(progress, `cluster ${CLUSTER_NAME}`, () => ensureCluster(runner, settings, signal), (made) => (made ? 'created' : 'exists, reused'));
    state.clusterCreated ||= created;
    writeState(settings.stateDir, state);
    await writeKubeconfig(runner, settings, signal);

    const imageTag = computeImageTag(settings.rootDir, settings.nodeImage);
    await runStep(
      progress,
      `image ${imageRef(imageTag)}`,
      () => ensureImage(runner, { rootDir: settings.rootDir, tag: imageTag, nodeImage: settings.nodeImage, network: options.env.SOMA_DOCKER_BUILD_NETWORK || undefined, signal }),
      (built) => (built ? 'built' : 'exists, reused'),
    );
    await runStep(progress, `kind load docker-image ${imageRef(imageTag)}`, () => loadImage(runner, imageTag, signal));
    state.imageTag = imageTag;
    if (!state.imageTags.includes(imageTag)) state.imageTags.push(imageTag);
    writeState(settings.stateDir, state);

    await installChart(state, imageTag, signal);

    const apiToken = await readSecret(runner, settings, `${FULLNAME}-api-token`, 'api-token', signal);
    const postgresPassword = await readSecret(runner, settings, `${FULLNAME}-postgres`, 'password', signal);
    try {
      await runStep(progress, 'port-forwards', () => forwards.start(signal), (list) => list.map((entry) => `${entry.name} 127.0.0.1:${entry.localPort}`).join(', '));
      await runStep(progress, `Kafka external listener ${KAFKA_EXTERNAL_BROKER}`, checkKafkaExternalListener);
    } catch (error) {
      // Forwards started by a failed or interrupted `up` do not outlive it.
      await forwards.stop();
      throw error;
    }
    if (watchIntervalMs > 0) stopWatchdog = forwards.watch(watchIntervalMs);

    const endpoints = buildEndpoints(apiToken, postgresPassword);
    writeFileSync(join(settings.stateDir, 'endpoints.json'), `${JSON.stringify(endpoints, null, 2)}\n`, { mode: 0o600 });
    return endpoints;
  }

  async function down(downOptions: DownOptions = {}): Promise<void> {
    const signal = options.signal;
    stopWatchdog?.();
    const stopped = await forwards.stop();
    if (stopped.length) progress({ kind: 'info', message: `stopped port-forwards (pids ${stopped.join(', ')})` });

    const state = readState(settings.stateDir);
    if (state.clusterCreated) {
      if (await clusterExists(runner, signal)) {
        await runStep(progress, `kind delete cluster --name ${CLUSTER_NAME}`, () => deleteCluster(runner, signal));
      }
    } else {
      await removeRelease(state, signal);
    }
    if (downOptions.purge) await removeImages(state, signal);
    if (!state.clusterCreated && !state.releaseInstalled && !state.namespaceCreated) {
      progress({ kind: 'info', message: 'the kind target created nothing that is still recorded; nothing to delete' });
    }
    clearState(settings.stateDir);
  }

  async function removeRelease(state: KindState, signal?: AbortSignal): Promise<void> {
    if (state.releaseInstalled) {
      await runStep(progress, `helm uninstall ${RELEASE_NAME}`, async () => {
        const result = await helm(runner, settings, ['uninstall', RELEASE_NAME, '--wait', '--ignore-not-found'], { signal, timeoutMs: 600_000 });
        if (result.exitCode !== 0) throw usageError(`helm uninstall ${RELEASE_NAME} failed:\n  ${tailOutput(result)}`, `run it by hand: helm uninstall ${RELEASE_NAME} -n ${NAMESPACE}`);
      });
      // StatefulSet volumes outlive `helm uninstall`; they belong to this release.
      const pvcs = await kubectl(runner, settings, ['delete', 'pvc', '-l', `app.kubernetes.io/instance=${RELEASE_NAME}`, '--ignore-not-found'], { signal });
      if (pvcs.exitCode !== 0) progress({ kind: 'warn', message: `deleting the release's PVCs failed: ${pvcs.stderr.trim()}` });
    }
    if (state.namespaceCreated) {
      const result = await runner.run('kubectl', ['--kubeconfig', settings.kubeconfigPath, 'delete', 'namespace', NAMESPACE, '--ignore-not-found'], { signal, timeoutMs: 300_000 });
      if (result.exitCode !== 0) progress({ kind: 'warn', message: `deleting namespace ${NAMESPACE} failed: ${result.stderr.trim()}` });
    }
  }

  async function removeImages(state: KindState, signal?: AbortSignal): Promise<void> {
    for (const tag of state.imageTags) {
      if (await imageExists(runner, imageRef(tag), signal)) await runner.run('docker', ['image', 'rm', imageRef(tag)], { signal, timeoutMs: 120_000 });
    }
  }

  async function status(): Promise<ComponentStatus[]> {
    const forwardStatus = await forwards.status();
    const ready = await readComponentReadiness();
    const components: ComponentStatus[] = [];
    for (const component of ['api', 'consumer', 'postgres', 'qdrant', 'kafka']) {
      const forward = forwardStatus.find((entry) => entry.name === component);
      const podState = ready.get(component);
      const state: ComponentStatus['state'] = podState === undefined ? 'stopped' : podState && (forward?.alive ?? true) ? 'running' : 'dead';
      const port = component === 'kafka' ? KAFKA_EXTERNAL_PORT : (forward?.localPort ?? 0);
      let address = `in-cluster (${FULLNAME}-consumer)`;
      if (component === 'kafka') address = KAFKA_EXTERNAL_BROKER;
      else if (forward) address = `127.0.0.1:${forward.localPort}`;
      components.push({ name: component, address, port, state, ...(forward?.pid ? { pid: forward.pid, logPath: forward.logPath } : {}) });
    }
    return components;
  }

  /** Maps component label to "all its pods are ready"; empty when the cluster is unreachable. */
  async function readComponentReadiness(): Promise<Map<string, boolean>> {
    const readiness = new Map<string, boolean>();
    const result = await kubectl(runner, settings, ['get', 'pods', '-l', CHART_LABEL, '-o', 'json'], { timeoutMs: 30_000 });
    if (result.exitCode !== 0) return readiness;
    const pods = JSON.parse(result.stdout) as { items: Array<{ metadata: { labels?: Record<string, string> }; status?: { containerStatuses?: Array<{ ready?: boolean }> } }> };
    for (const pod of pods.items) {
      const component = pod.metadata.labels?.['app.kubernetes.io/component'];
      if (!component) continue;
      const podReady = (pod.status?.containerStatuses ?? []).length > 0 && (pod.status?.containerStatuses ?? []).every((container) => container.ready);
      readiness.set(component, (readiness.get(component) ?? true) && podReady);
    }
    return readiness;
  }

  async function collectLogs(destDir: string): Promise<string[]> {
    const diagnostics = await collectDiagnostics(runner, settings, destDir, options.signal);
    return diagnostics.files;
  }

  async function runAction(action: TargetAction, signal = options.signal): Promise<void> {
    const state = readState(settings.stateDir);
    switch (action.action) {
      case 'helm-upgrade':
        return upgradeAction(state, action.params ?? {}, signal);
      case 'helm-rollback':
        return rollbackAction(action.params ?? {}, signal);
      default:
        throw usageError(`the kind target has no action "${action.action}"`, `use one of: ${KIND_ACTIONS.join(', ')}`);
    }
  }

  async function upgradeAction(state: KindState, params: Record<string, unknown>, signal?: AbortSignal): Promise<void> {
    if (params.imageTag !== undefined && (typeof params.imageTag !== 'string' || params.imageTag === '' || params.imageTag === 'latest')) {
      throw usageError(`helm-upgrade imageTag ${JSON.stringify(params.imageTag)} is invalid`, 'give a non-empty tag other than "latest", or omit it to retag the current image');
    }
    if (!state.imageTag) throw usageError('helm-upgrade needs a release installed by `soma-harness up --target kind`', 'run `soma-harness up --target kind` first');
    const newTag = (params.imageTag as string | undefined) ?? `${state.imageTag}-upgrade-${state.imageTags.length}`;

    // Same content under a new tag still changes the pod template, so every pod rolls.
    if (!(await imageExists(runner, imageRef(newTag), signal))) await tagImage(runner, state.imageTag, newTag, signal);
    await loadImage(runner, newTag, signal);
    try {
      await runStep(progress, `helm upgrade ${RELEASE_NAME} to ${newTag}`, () => upgradeRelease(runner, settings, newTag, signal));
    } catch (error) {
      if (error instanceof RolloutError && !signal?.aborted) await reportRolloutFailure(error, signal);
      throw error;
    }
    if (!state.imageTags.includes(newTag)) state.imageTags.push(newTag);
    writeState(settings.stateDir, state);
    await forwards.ensure(signal);
  }

  async function rollbackAction(params: Record<string, unknown>, signal?: AbortSignal): Promise<void> {
    const revision = params.revision;
    if (revision !== undefined && (typeof revision !== 'number' || !Number.isInteger(revision) || revision < 1)) {
      throw usageError(`helm-rollback revision ${JSON.stringify(revision)} is invalid`, 'give a positive whole revision number from `helm history`, or omit it for the previous revision');
    }
    try {
      await runStep(progress, `helm rollback ${RELEASE_NAME}${revision === undefined ? '' : ` to revision ${revision}`}`, () => rollbackRelease(runner, settings, revision, signal));
    } catch (error) {
      if (error instanceof RolloutError && !signal?.aborted) await reportRolloutFailure(error, signal);
      throw error;
    }
    await forwards.ensure(signal);
  }

  return { name: 'kind', up, down, status, collectLogs, runAction };
}

export { PortForwards } from './port-forwards.js';
export { resolveKindSettings } from './settings.js';
export type { KindSettings };
