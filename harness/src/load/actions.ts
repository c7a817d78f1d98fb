/**
 * Runs a scenario's actions during its load: at a share of the items completed
 * (acknowledged, rejected or failed) or at a time since the load started. An
 * action with `wait: true` delays the next request until it has finished.
 * Every action still running when the load ends is awaited before verification.
 */
import type { ActionSpec } from '../scenario/types.js';
import type { LoadHooks, LoadProgress } from './types.js';

export type ActionRunner = (action: ActionSpec, signal: AbortSignal) => Promise<void>;

export interface ActionRecord {
  at: string;
  action: string;
  params: Record<string, unknown>;
  status: 'pending' | 'running' | 'done' | 'failed' | 'skipped';
  /** Milliseconds since the load started. */
  startedMs?: number;
  finishedMs?: number;
  error?: string;
}

export interface ActionScheduler {
  /** Hooks to pass to the load engine. */
  readonly hooks: Required<Pick<LoadHooks, 'beforeRequest' | 'onProgress'>>;
  /** Starts the timers of time-triggered actions and runs the 0% actions, awaiting those with `wait: true`; call right before the load. */
  start(totalItems: number): Promise<void>;
  /** Runs the 100% actions, waits for every running action and returns what happened to each. */
  finish(progress: LoadProgress): Promise<ActionRecord[]>;
}

export interface ActionSchedulerOptions {
  signal: AbortSignal;
  now?: () => number;
  /** Called when an action starts and ends, for progress output. */
  onEvent?: (record: ActionRecord) => void;
}

interface Entry {
  spec: ActionSpec;
  record: ActionRecord;
  running?: Promise<void>;
  timer?: NodeJS.Timeout;
}

function completedShare(progress: LoadProgress): number {
  if (progress.totalItems === 0) return 100;
  const completed = progress.acknowledgedItems + progress.rejectedItems + progress.failedItems;
  return (completed / progress.totalItems) * 100;
}

/** Creates a scheduler for `actions`, which `runner` executes. */
export function createActionScheduler(
  actions: readonly ActionSpec[],
  runner: ActionRunner,
  options: ActionSchedulerOptions,
): ActionScheduler {
  const now = options.now ?? Date.now;
  let startedAt = now();
  const entries: Entry[] = actions.map((spec) => ({
    spec,
    record: { at: spec.at, action: spec.action, params: spec.params, status: 'pending' },
  }));

  const launch = (entry: Entry): void => {
    if (entry.record.status !== 'pending') return;
    if (entry.timer) clearTimeout(entry.timer);
    entry.record.status = 'running';
    entry.record.startedMs = now() - startedAt;
    options.onEvent?.({ ...entry.record });
    entry.running = runner(entry.spec, options.signal).then(
      () => {
        entry.record.status = 'done';
      },
      (error: unknown) => {
        entry.record.status = 'failed';
        entry.record.error = error instanceof Error ? error.message : String(error);
      },
    ).finally(() => {
      entry.record.finishedMs = now() - startedAt;
      options.onEvent?.({ ...entry.record });
    });
  };

  const launchDue = (progress: LoadProgress, includeEnd: boolean): void => {
    const share = completedShare(progress);
    for (const entry of entries) {
      const trigger = entry.spec.trigger;
      if (trigger.kind !== 'percent') continue;
      const isEnd = trigger.percent >= 100;
      if (isEnd && !includeEnd && share < 100) continue;
      if (share >= trigger.percent) launch(entry);
    }
  };

  const waitForBlocking = async (): Promise<void> => {
    const blocking = entries.filter((entry) => entry.spec.wait && entry.record.status === 'running');
    await Promise.all(blocking.map((entry) => entry.running));
  };

  return {
    hooks: {
      async beforeRequest(progress) {
        launchDue(progress, false);
        await waitForBlocking();
      },
      onProgress(progress) {
        launchDue(progress, false);
      },
    },
    async start(totalItems) {
      startedAt = now();
      for (const entry of entries) {
        const trigger = entry.spec.trigger;
        if (trigger.kind === 'elapsed') entry.timer = setTimeout(() => launch(entry), trigger.ms);
      }
      launchDue({ totalItems, sentItems: 0, acknowledgedItems: 0, rejectedItems: 0, failedItems: 0, retries: 0, elapsedMs: 0 }, false);
      await waitForBlocking();
    },
    async finish(progress) {
      const share = completedShare(progress);
      for (const entry of entries) {
        const trigger = entry.spec.trigger;
        if (trigger.kind === 'percent' && (trigger.percent >= 100 || share >= trigger.percent)) launch(entry);
      }
      for (const entry of entries) {
        if (entry.record.status !== 'pending') continue;
        if (entry.timer) clearTimeout(entry.timer);
        entry.record.status = 'skipped';
        entry.record.error =
          entry.spec.trigger.kind === 'elapsed'
            ? `the load ended after ${Math.round(now() - startedAt)} ms, before the trigger time`
            : `the load ended with ${share.toFixed(1)}% of the items completed, before the trigger`;
      }
      await Promise.all(entries.map((entry) => entry.running));
      return entries.map((entry) => ({ ...entry.record }));
    },
  };
}
