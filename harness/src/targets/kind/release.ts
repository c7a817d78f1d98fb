/** The Helm release soma-memory: status, recovery of interrupted operations, install, rollouts, secrets. */
import { HarnessError, EXIT_USAGE, usageError } from '../../exit-codes.js';
import type { ProgressSink } from '../../progress.js';
import type { CommandRunner } from './command-runner.js';
import { helm, kubectl, tailOutput } from './kube.js';
import { FULLNAME, NAMESPACE, RELEASE_NAME, type KindSettings } from './settings.js';

export interface ReleaseInfo {
  status: string;
  revision: number;
}

/** Workloads whose rollout `up` waits for, as kubectl resource names. */
export const WORKLOADS = [
  `deployment/${FULLNAME}`,
  `deployment/${FULLNAME}-consumer`,
  `statefulset/${FULLNAME}-postgres`,
  `statefulset/${FULLNAME}-qdrant`,
  `statefulset/${FULLNAME}-kafka`,
];

/** A rollout or helm wait that ran out of time; `up` collects diagnostics for it. */
export class RolloutError extends HarnessError {
  constructor(message: string) {
    super(message, { exitCode: EXIT_USAGE, hint: 'read the pod reasons above and the collected logs and events' });
    this.name = 'RolloutError';
  }
}

export async function namespaceExists(runner: CommandRunner, settings: KindSettings, signal?: AbortSignal): Promise<boolean> {
  const result = await runner.run('kubectl', ['--kubeconfig', settings.kubeconfigPath, 'get', 'namespace', NAMESPACE, '-o', 'name'], { signal, timeoutMs: 60_000 });
  return result.exitCode === 0;
}

/** Returns the release's status, or undefined when it does not exist. */
export async function readRelease(runner: CommandRunner, settings: KindSettings, signal?: AbortSignal): Promise<ReleaseInfo | undefined> {
  const result = await helm(runner, settings, ['list', '--all', '--filter', `^${RELEASE_NAME}$`, '-o', 'json'], { signal });
  if (result.exitCode !== 0) {
    throw usageError(`helm list in namespace ${NAMESPACE} failed:\n  ${tailOutput(result)}`, 'check that the cluster responds: kubectl --kubeconfig .soma/kind/kubeconfig get nodes');
  }
  const releases = JSON.parse(result.stdout || '[]') as Array<{ name: string; status: string; revision: string | number }>;
  const release = releases.find((entry) => entry.name === RELEASE_NAME);
  return release ? { status: release.status, revision: Number(release.revision) } : undefined;
}

/**
 * Clears a release left in a pending state by an interrupted helm run, which
 * would otherwise make every later upgrade fail with "another operation is in
 * progress". A pending or failed first install is uninstalled; a pending
 * upgrade or rollback is rolled back to the last good revision.
 * Returns a description of what it did, or undefined when nothing was needed.
 */
export async function recoverRelease(
  runner: CommandRunner,
  settings: KindSettings,
  release: ReleaseInfo,
  progress: ProgressSink,
  signal?: AbortSignal,
): Promise<string | undefined> {
  const firstInstallBroken = release.status === 'pending-install' || (release.status === 'failed' && release.revision <= 1);
  const upgradeInterrupted = release.status === 'pending-upgrade' || release.status === 'pending-rollback';
  if (!firstInstallBroken && !upgradeInterrupted) return undefined;

  const timeout = `${settings.rolloutTimeoutSeconds}s`;
  if (firstInstallBroken) {
    progress({ kind: 'warn', message: `release ${RELEASE_NAME} is ${release.status} (revision ${release.revision}); uninstalling it before a fresh install` });
    const result = await helm(runner, settings, ['uninstall', RELEASE_NAME, '--wait', '--timeout', timeout], { signal, timeoutMs: settings.rolloutTimeoutSeconds * 1000 + 60_000 });
    if (result.exitCode !== 0) throw usageError(`helm uninstall ${RELEASE_NAME} failed:\n  ${tailOutput(result)}`, `remove it by hand: helm uninstall ${RELEASE_NAME} -n ${NAMESPACE}`);
    return `uninstalled ${release.status} release`;
  }

  progress({ kind: 'warn', message: `release ${RELEASE_NAME} is ${release.status} (revision ${release.revision}); rolling back to the previous revision` });
  const result = await helm(runner, settings, ['rollback', RELEASE_NAME, '--wait', '--timeout', timeout], { signal, timeoutMs: settings.rolloutTimeoutSeconds * 1000 + 60_000 });
  if (result.exitCode !== 0) throw usageError(`helm rollback ${RELEASE_NAME} failed:\n  ${tailOutput(result)}`, `inspect it with: helm history ${RELEASE_NAME} -n ${NAMESPACE}`);
  return `rolled back ${release.status} release`;
}

/** Runs `helm upgrade --install` with the kind values and the given image tag. */
export async function installRelease(runner: CommandRunner, settings: KindSettings, imageTag: string, signal?: AbortSignal): Promise<void> {
  const args = [
    'upgrade', '--install', RELEASE_NAME, settings.chartDir,
    '--create-namespace', '--wait', '--timeout', `${settings.rolloutTimeoutSeconds}s`,
    '-f', settings.valuesFile, '--set', `image.tag=${imageTag}`,
  ];
  const result = await helm(runner, settings, args, { signal, timeoutMs: settings.rolloutTimeoutSeconds * 1000 + 60_000 });
  if (result.exitCode === 0) return;

  const output = tailOutput(result);
  if (/timed out|deadline exceeded|context canceled|not ready|timeout/i.test(output)) {
    throw new RolloutError(`helm upgrade --install ${RELEASE_NAME} did not become ready within ${settings.rolloutTimeoutSeconds}s:\n  ${output}`);
  }
  throw usageError(`helm upgrade --install ${RELEASE_NAME} failed (exit ${result.exitCode}):\n  ${output}`, 'fix the chart or values error above (helm lint --strict ./helm -f helm/values-kind.yaml)');
}

/** Runs `helm upgrade` (no install) to a new image tag, keeping the kind values. */
export async function upgradeRelease(runner: CommandRunner, settings: KindSettings, imageTag: string, signal?: AbortSignal): Promise<void> {
  const args = ['upgrade', RELEASE_NAME, settings.chartDir, '--wait', '--timeout', `${settings.rolloutTimeoutSeconds}s`, '-f', settings.valuesFile, '--set', `image.tag=${imageTag}`];
  const result = await helm(runner, settings, args, { signal, timeoutMs: settings.rolloutTimeoutSeconds * 1000 + 60_000 });
  if (result.exitCode !== 0) throw new RolloutError(`helm upgrade ${RELEASE_NAME} to image tag ${imageTag} failed:\n  ${tailOutput(result)}`);
}

/** Runs `helm rollback` to `revision`, or to the previous revision when none is given. */
export async function rollbackRelease(runner: CommandRunner, settings: KindSettings, revision: number | undefined, signal?: AbortSignal): Promise<void> {
  const args = ['rollback', RELEASE_NAME, ...(revision === undefined ? [] : [String(revision)]), '--wait', '--timeout', `${settings.rolloutTimeoutSeconds}s`];
  const result = await helm(runner, settings, args, { signal, timeoutMs: settings.rolloutTimeoutSeconds * 1000 + 60_000 });
  if (result.exitCode !== 0) throw new RolloutError(`helm rollback ${RELEASE_NAME}${revision === undefined ? '' : ` to revision ${revision}`} failed:\n  ${tailOutput(result)}`);
}

export async function waitForRollouts(runner: CommandRunner, settings: KindSettings, signal?: AbortSignal): Promise<void> {
  for (const workload of WORKLOADS) {
    const result = await kubectl(runner, settings, ['rollout', 'status', workload, `--timeout=${settings.rolloutTimeoutSeconds}s`], {
      signal,
      timeoutMs: settings.rolloutTimeoutSeconds * 1000 + 30_000,
    });
    if (result.exitCode !== 0) throw new RolloutError(`rollout of ${workload} did not finish within ${settings.rolloutTimeoutSeconds}s:\n  ${tailOutput(result)}`);
  }
}

/** Reads and base64-decodes one key of a Secret in the namespace. */
export async function readSecret(runner: CommandRunner, settings: KindSettings, secret: string, key: string, signal?: AbortSignal): Promise<string> {
  const result = await kubectl(runner, settings, ['get', 'secret', secret, '-o', `jsonpath={.data.${key}}`], { signal });
  if (result.exitCode !== 0 || result.stdout.trim() === '') {
    throw usageError(`Secret ${secret} (key ${key}) not found in namespace ${NAMESPACE}: ${result.stderr.trim()}`, 'the chart creates it; run `soma-harness up --target kind` again');
  }
  return Buffer.from(result.stdout.trim(), 'base64').toString('utf8');
}
