/**
 * Locates the pinned tools that the chart, cluster-config and image tests
 * run. tools/chart/install-tools.sh installs them; a missing tool fails the
 * test with that command as the fix, because CI must always run these tests.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
/** Kubernetes version the rendered manifests are validated against; kind/cluster.yaml runs the same. */
export const KUBERNETES_VERSION = '1.37.0';

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.SOMA_CACHE_DIR || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'soma');
}

export function toolsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.SOMA_TOOLS_DIR || join(cacheDir(env), 'tools');
}

/** Returns the path of a tool installed by tools/chart/install-tools.sh, or throws naming that script. */
export function findTool(name: 'helm' | 'kind-config-check' | 'kubernetes-validate'): string {
  const path = name === 'kubernetes-validate' ? join(toolsDir(), 'venv/bin', name) : join(toolsDir(), 'bin', name);
  if (!existsSync(path)) {
    throw new Error(`${name} not found at ${path}; install the pinned chart tools with: bash tools/chart/install-tools.sh`);
  }
  return path;
}

export interface ToolResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs a tool synchronously and returns its exit code and output (never throws for a non-zero exit). */
export function runTool(path: string, args: string[], options: { cwd?: string; input?: string } = {}): ToolResult {
  try {
    const stdout = execFileSync(path, args, { cwd: options.cwd ?? REPO_ROOT, input: options.input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
    return { exitCode: 0, stdout, stderr: '' };
  } catch (error) {
    const failure = error as { status?: number; stdout?: string; stderr?: string };
    return { exitCode: failure.status ?? 1, stdout: failure.stdout ?? '', stderr: failure.stderr ?? '' };
  }
}
