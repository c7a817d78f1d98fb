/** Checks that docker, kind, kubectl and helm exist and that the Docker daemon responds. */
import { usageError } from '../../exit-codes.js';
import type { CommandRunner } from './command-runner.js';

interface ToolCheck {
  tool: string;
  args: string[];
  installHint: string;
}

/** Each tool with the command that proves it runs and how to install it. */
export const REQUIRED_TOOLS: readonly ToolCheck[] = [
  {
    tool: 'docker',
    args: ['version', '--format', '{{.Client.Version}}'],
    installHint: 'install Docker Engine (Debian/Ubuntu: apt-get install docker.io) and put `docker` on PATH',
  },
  {
    tool: 'kind',
    args: ['version'],
    installHint: 'install kind v0.33.0: go install sigs.k8s.io/kind@v0.33.0 (then add $(go env GOPATH)/bin to PATH)',
  },
  {
    tool: 'kubectl',
    args: ['version', '--client'],
    installHint: 'install kubectl v1.37 (the Kubernetes version of kind/cluster.yaml) from your distribution or the Kubernetes release packages',
  },
  {
    tool: 'helm',
    args: ['version', '--short'],
    installHint: 'install helm v4.3.2: go install helm.sh/helm/v4/cmd/helm@v4.3.2',
  },
];

/**
 * Runs every check before failing, so one run names every missing tool.
 * Throws a usage error (exit 2) that lists each problem with its fix.
 */
export async function runPreflight(runner: CommandRunner, signal?: AbortSignal): Promise<void> {
  const problems: string[] = [];
  for (const check of REQUIRED_TOOLS) {
    const result = await runner.run(check.tool, check.args, { signal, timeoutMs: 30_000 });
    if (result.exitCode !== 0) {
      const reason = result.exitCode === 127 ? 'not found on PATH' : `\`${check.tool} ${check.args.join(' ')}\` failed (exit ${result.exitCode})`;
      problems.push(`${check.tool}: ${reason}; ${check.installHint}`);
    }
  }

  const dockerMissing = problems.some((problem) => problem.startsWith('docker:'));
  if (!dockerMissing) {
    const info = await runner.run('docker', ['info', '--format', '{{.ServerVersion}}'], { signal, timeoutMs: 30_000 });
    if (info.exitCode !== 0) {
      const detail = info.stderr.trim().split('\n').at(-1) ?? '';
      problems.push(`docker daemon: not answering (${detail}); start it (systemctl start docker) or set DOCKER_HOST to a running daemon`);
    }
  }

  if (problems.length > 0) {
    throw usageError(
      `the kind target cannot run: ${problems.length} prerequisite(s) missing\n  - ${problems.join('\n  - ')}`,
      'install or start what is listed above, then run `soma-harness up --target kind` again',
    );
  }
}
