/**
 * Record of the objects the kind target created, kept in <stateDir>/state.json,
 * so `down` deletes exactly those: the cluster when `up` created it, otherwise only the
 * release, its volumes and the namespace when `up` created those.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface KindState {
  clusterCreated: boolean;
  namespaceCreated: boolean;
  releaseInstalled: boolean;
  imageTag?: string;
  /** Image tags loaded into the cluster, the first one from `up`, later ones from helm-upgrade actions. */
  imageTags: string[];
}

const EMPTY_STATE: KindState = {
  clusterCreated: false,
  namespaceCreated: false,
  releaseInstalled: false,
  imageTags: [],
};

function statePath(stateDir: string): string {
  return join(stateDir, 'state.json');
}

export function readState(stateDir: string): KindState {
  try {
    const parsed = JSON.parse(readFileSync(statePath(stateDir), 'utf8')) as Partial<KindState>;
    return { ...EMPTY_STATE, ...parsed, imageTags: parsed.imageTags ?? [] };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { ...EMPTY_STATE, imageTags: [] };
    throw error;
  }
}

export function writeState(stateDir: string, state: KindState): void {
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(statePath(stateDir), `${JSON.stringify(state, null, 2)}\n`);
}

export function clearState(stateDir: string): void {
  rmSync(statePath(stateDir), { force: true });
}
