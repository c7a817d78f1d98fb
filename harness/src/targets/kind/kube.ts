/** Argument lists for kubectl and helm bound to the target's own kubeconfig and namespace. */
import type { CommandResult, CommandRunner, RunOptions } from './command-runner.js';
import { NAMESPACE, type KindSettings } from './settings.js';

export function kubectlArgs(settings: KindSettings, args: readonly string[]): string[] {
  return ['--kubeconfig', settings.kubeconfigPath, '-n', NAMESPACE, ...args];
}

export function helmArgs(settings: KindSettings, args: readonly string[]): string[] {
  return [...args, '-n', NAMESPACE, '--kubeconfig', settings.kubeconfigPath];
}

export function kubectl(runner: CommandRunner, settings: KindSettings, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  return runner.run('kubectl', kubectlArgs(settings, args), { timeoutMs: 120_000, ...options });
}

export function helm(runner: CommandRunner, settings: KindSettings, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  return runner.run('helm', helmArgs(settings, args), { cwd: settings.rootDir, timeoutMs: 120_000, ...options });
}

/** Returns the last lines of a failed command's output, indented for an error message. */
export function tailOutput(result: CommandResult, lines = 8): string {
  return `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-lines).join('\n  ');
}
