/**
 * Evidence for a failed install or rollout: why each pod is not ready
 * (ImagePullBackOff, CrashLoopBackOff, ...), the pods' logs and the
 * namespace's events, written into a folder of the run's report.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandRunner } from './command-runner.js';
import { kubectl } from './kube.js';
import { CHART_LABEL, type KindSettings } from './settings.js';

interface ContainerStatus {
  name: string;
  ready?: boolean;
  restartCount?: number;
  state?: { waiting?: { reason?: string; message?: string }; terminated?: { reason?: string; exitCode?: number } };
  lastState?: { terminated?: { reason?: string; exitCode?: number } };
}

interface PodList {
  items: Array<{
    metadata: { name: string };
    status?: { phase?: string; containerStatuses?: ContainerStatus[]; initContainerStatuses?: ContainerStatus[] };
  }>;
}

export interface PodProblem {
  pod: string;
  container: string;
  reason: string;
  detail?: string;
}

export interface Diagnostics {
  problems: PodProblem[];
  /** Files written into the diagnostics folder. */
  files: string[];
}

/** Returns one entry per container that is not ready, with the reason Kubernetes gives. */
export function findPodProblems(pods: PodList): PodProblem[] {
  const problems: PodProblem[] = [];
  for (const pod of pods.items) {
    const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
    if (statuses.length === 0 && pod.status?.phase !== 'Running') {
      problems.push({ pod: pod.metadata.name, container: '-', reason: pod.status?.phase ?? 'Unknown' });
    }
    for (const status of statuses) {
      if (status.ready) continue;
      const waiting = status.state?.waiting;
      const terminated = status.state?.terminated ?? status.lastState?.terminated;
      const reason = waiting?.reason ?? terminated?.reason ?? 'NotReady';
      const details = [waiting?.message, terminated?.exitCode !== undefined ? `exit code ${terminated.exitCode}` : undefined, status.restartCount ? `${status.restartCount} restarts` : undefined];
      const detail = details.filter(Boolean).join(', ');
      problems.push({ pod: pod.metadata.name, container: status.name, reason, ...(detail ? { detail } : {}) });
    }
  }
  return problems;
}

export function formatPodProblem(problem: PodProblem): string {
  return `pod ${problem.pod} container ${problem.container}: ${problem.reason}${problem.detail ? ` (${problem.detail})` : ''}`;
}

/** Collects pod reasons, pod logs and events into `destDir`; never throws for a failed kubectl call. */
export async function collectDiagnostics(runner: CommandRunner, settings: KindSettings, destDir: string, signal?: AbortSignal): Promise<Diagnostics> {
  mkdirSync(join(destDir, 'logs'), { recursive: true });
  const files: string[] = [];
  const write = (name: string, content: string) => {
    const path = join(destDir, name);
    writeFileSync(path, content);
    files.push(path);
  };

  const podsResult = await kubectl(runner, settings, ['get', 'pods', '-l', CHART_LABEL, '-o', 'json'], { signal });
  let pods: PodList = { items: [] };
  if (podsResult.exitCode === 0) {
    write('pods.json', podsResult.stdout);
    try {
      pods = JSON.parse(podsResult.stdout) as PodList;
    } catch {
      write('pods-parse-error.txt', 'kubectl get pods -o json returned output that is not JSON; see pods.json\n');
    }
  }
  const problems = findPodProblems(pods);
  write('pod-problems.txt', problems.map(formatPodProblem).join('\n') + (problems.length ? '\n' : 'no pod problems found\n'));

  for (const pod of pods.items) {
    const name = pod.metadata.name;
    const logs = await kubectl(runner, settings, ['logs', name, '--all-containers', '--prefix', '--tail=2000'], { signal });
    write(join('logs', `${name}.log`), logs.stdout + (logs.exitCode === 0 ? '' : `\n[kubectl logs failed: ${logs.stderr.trim()}]\n`));
  }

  const events = await kubectl(runner, settings, ['get', 'events', '--sort-by=.lastTimestamp'], { signal });
  write('events.txt', events.exitCode === 0 ? events.stdout : `[kubectl get events failed: ${events.stderr.trim()}]\n`);
  return { problems, files };
}
