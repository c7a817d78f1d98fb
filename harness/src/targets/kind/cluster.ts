/** The kind cluster: create it unless it exists, write its kubeconfig, delete it. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { usageError } from '../../exit-codes.js';
import type { CommandResult, CommandRunner } from './command-runner.js';
import { CLUSTER_NAME, type KindSettings } from './settings.js';

function failure(step: string, result: CommandResult, hint: string): Error {
  const output = (result.stderr || result.stdout).trim().split('\n').slice(-5).join('\n  ');
  return usageError(`${step} failed (exit ${result.exitCode}):\n  ${output}`, hint);
}

export async function clusterExists(runner: CommandRunner, signal?: AbortSignal): Promise<boolean> {
  const result = await runner.run('kind', ['get', 'clusters'], { signal, timeoutMs: 60_000 });
  if (result.exitCode !== 0) throw failure('kind get clusters', result, 'check that the Docker daemon runs and `kind get clusters` works');
  return result.stdout.split('\n').some((line) => line.trim() === CLUSTER_NAME);
}

/** Creates the cluster from kind/cluster.yaml unless it exists; returns whether it was created now. */
export async function ensureCluster(runner: CommandRunner, settings: KindSettings, signal?: AbortSignal): Promise<boolean> {
  if (await clusterExists(runner, signal)) return false;

  const result = await runner.run(
    'kind',
    ['create', 'cluster', '--config', settings.clusterConfig, '--name', CLUSTER_NAME, '--kubeconfig', settings.kubeconfigPath, '--wait', '120s'],
    { cwd: settings.rootDir, signal, timeoutMs: 600_000 },
  );
  if (result.exitCode !== 0) {
    throw failure(
      `kind create cluster --name ${CLUSTER_NAME}`,
      result,
      'host port 30092 (Kafka, from kind/cluster.yaml) may be taken, or Docker may lack memory; read the output above',
    );
  }
  return true;
}

/** Writes the cluster's kubeconfig into the state directory, so kubectl and helm never touch ~/.kube/config. */
export async function writeKubeconfig(runner: CommandRunner, settings: KindSettings, signal?: AbortSignal): Promise<void> {
  const result = await runner.run('kind', ['get', 'kubeconfig', '--name', CLUSTER_NAME], { signal, timeoutMs: 60_000 });
  if (result.exitCode !== 0) throw failure(`kind get kubeconfig --name ${CLUSTER_NAME}`, result, `check \`kind get clusters\` lists ${CLUSTER_NAME}`);
  mkdirSync(dirname(settings.kubeconfigPath), { recursive: true });
  writeFileSync(settings.kubeconfigPath, result.stdout, { mode: 0o600 });
}

export async function deleteCluster(runner: CommandRunner, signal?: AbortSignal): Promise<void> {
  const result = await runner.run('kind', ['delete', 'cluster', '--name', CLUSTER_NAME], { signal, timeoutMs: 300_000 });
  if (result.exitCode !== 0) throw failure(`kind delete cluster --name ${CLUSTER_NAME}`, result, 'delete it by hand with `kind delete cluster --name soma-cluster`');
}
