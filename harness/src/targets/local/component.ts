import type { ProgressSink } from '../../progress.js';
import type { ComponentName, ComponentRecord, LocalState } from './state.js';

/** A missing tool found before anything starts, with the Debian package that provides it. */
export interface MissingTool {
  component: ComponentName;
  tool: string;
  fix: string;
}

/** Everything a component needs to prepare and start. */
export interface StartContext {
  rootDir: string;
  stateDir: string;
  /** Downloads kept across state dirs: Kafka jars, the Python venv. */
  cacheDir: string;
  env: NodeJS.ProcessEnv;
  progress: ProgressSink;
  signal?: AbortSignal;
  state: LocalState;
  /** Writes the state file; called right after a spawn so `down` finds the PID even after Ctrl-C. */
  saveState(): void;
  /** Ports already given to other components of this state dir. */
  takenPorts: Set<number>;
  /** Restart a running component whose settings changed (UpOptions.applySettings); else reuse it with a warning. */
  applySettings?: boolean;
}

/**
 * One process of the local target. `start` spawns it, records its PID and
 * waits until it is ready. `probe` checks whether a running one responds.
 */
export interface LocalComponent {
  readonly name: ComponentName;
  /** Signal that makes the program shut down cleanly. */
  readonly stopSignal: NodeJS.Signals;
  /** How long `down` waits after `stopSignal` before SIGKILL. */
  readonly stopGraceMs: number;
  findMissingTools(context: StartContext): Promise<MissingTool[]>;
  start(context: StartContext, previous: ComponentRecord | undefined): Promise<ComponentRecord>;
  probe(record: ComponentRecord): Promise<boolean>;
  /**
   * Returns how the settings this call of `up` would start the component
   * with differ from those of the running `record`, or undefined when they
   * match. A component without this method is reused whatever its settings.
   */
  settingsChange?(record: ComponentRecord, context: StartContext): string | undefined;
}
