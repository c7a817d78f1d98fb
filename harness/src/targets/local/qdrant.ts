import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { usageError } from '../../exit-codes.js';
import { spawnDaemon } from '../../process/daemon.js';
import { findOnPath } from '../../process/executables.js';
import { choosePort } from '../../process/ports.js';
import { lastLines, runCommand } from '../../process/run-command.js';
import { runStep } from '../../progress.js';
import type { LocalComponent, MissingTool, StartContext } from './component.js';
import { waitUntilReady } from './readiness.js';
import type { ComponentRecord } from './state.js';

/** The Qdrant Edge engine from PyPI, and orjson, which parses upsert bodies about 7 times faster than json. */
export const QDRANT_EDGE_VERSION = '0.9.0';
const PYTHON_PACKAGES = [`qdrant-edge-py==${QDRANT_EDGE_VERSION}`, 'orjson==3.10.18'];
const STAND_IN_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'qdrant-edge', 'server.py');
const READY_TIMEOUT_MS = 30_000;
const PIP_TIMEOUT_MS = 600_000;
const PYTHON_HINT = 'install the Debian packages python3 and python3-venv (apt-get install -y python3 python3-venv)';
const COMPLETE_MARKER = '.complete';

type QdrantMode =
  | { kind: 'external'; url: string }
  | { kind: 'binary'; path: string }
  | { kind: 'stand-in' };

/** QDRANT_URL wins; then a `qdrant` binary (QDRANT_BIN or PATH); otherwise the Qdrant Edge stand-in. */
export function chooseQdrantMode(env: NodeJS.ProcessEnv): QdrantMode {
  if (env.QDRANT_URL) return { kind: 'external', url: env.QDRANT_URL.replace(/\/+$/, '') };
  const binary = env.QDRANT_BIN ?? findOnPath('qdrant', env);
  if (binary) return { kind: 'binary', path: binary };
  return { kind: 'stand-in' };
}

function venvDir(cacheDir: string): string {
  return join(cacheDir, `qdrant-edge-py-${QDRANT_EDGE_VERSION}`, 'venv');
}

/** Creates the virtualenv with the pinned engine in the cache, once. */
async function ensureVenv(context: StartContext): Promise<string> {
  const venv = venvDir(context.cacheDir);
  const python = join(venv, 'bin', 'python');
  if (existsSync(join(venv, COMPLETE_MARKER))) return python;

  const python3 = findOnPath('python3', context.env);
  if (!python3) throw usageError('qdrant: python3 not found on PATH (needed for the Qdrant Edge stand-in)', PYTHON_HINT);
  // A venv cannot be moved (its scripts name their folder), so it is built in
  // place and only counts as complete once the marker file exists.
  rmSync(venv, { recursive: true, force: true });
  mkdirSync(dirname(venv), { recursive: true });

  await runStep(context.progress, `qdrant: create a virtualenv with qdrant-edge-py ${QDRANT_EDGE_VERSION} (first run only)`, async () => {
    const created = await runCommand({ command: python3, args: ['-m', 'venv', venv], env: context.env, timeoutMs: 120_000, signal: context.signal });
    if (created.code !== 0) {
      throw usageError(`qdrant: \`python3 -m venv\` failed:\n${lastLines(created.output).join('\n')}`, PYTHON_HINT);
    }
    const installed = await runCommand({
      command: python,
      args: ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '-q', ...PYTHON_PACKAGES],
      env: context.env,
      timeoutMs: PIP_TIMEOUT_MS,
      signal: context.signal,
    });
    if (installed.code !== 0) {
      throw usageError(
        `qdrant: pip could not install ${PYTHON_PACKAGES.join(' ')}:\n${lastLines(installed.output).join('\n')}`,
        'check that pip can reach its package index, or set QDRANT_URL to a running Qdrant',
      );
    }
  });
  writeFileSync(join(venv, COMPLETE_MARKER), `${PYTHON_PACKAGES.join('\n')}\n`);
  return python;
}

async function answersReadyz(baseUrl: string): Promise<boolean> {
  try {
    const response = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(2000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

function spawnQdrant(mode: QdrantMode, python: string | undefined, port: number, grpcPort: number, baseDir: string, context: StartContext, logPath: string) {
  const storage = join(baseDir, 'storage');
  mkdirSync(storage, { recursive: true });
  context.signal?.throwIfAborted();
  if (mode.kind === 'binary') {
    return spawnDaemon({
      command: mode.path,
      args: [],
      cwd: baseDir,
      env: {
        ...context.env,
        QDRANT__SERVICE__HOST: '127.0.0.1',
        QDRANT__SERVICE__HTTP_PORT: String(port),
        QDRANT__SERVICE__GRPC_PORT: String(grpcPort),
        QDRANT__STORAGE__STORAGE_PATH: storage,
        QDRANT__STORAGE__SNAPSHOTS_PATH: join(baseDir, 'snapshots'),
        QDRANT__TELEMETRY_DISABLED: 'true',
      },
      logPath,
    });
  }
  return spawnDaemon({
    command: python as string,
    args: [STAND_IN_SCRIPT, '--host', '127.0.0.1', '--port', String(port), '--storage', storage],
    cwd: baseDir,
    env: { ...context.env, PYTHONUNBUFFERED: '1' },
    logPath,
  });
}

export function createQdrantComponent(): LocalComponent {
  return {
    name: 'qdrant',
    stopSignal: 'SIGTERM',
    stopGraceMs: 15_000,

    async findMissingTools(context): Promise<MissingTool[]> {
      const mode = chooseQdrantMode(context.env);
      if (mode.kind !== 'stand-in' || existsSync(join(venvDir(context.cacheDir), COMPLETE_MARKER))) return [];
      if (findOnPath('python3', context.env)) return [];
      return [{ component: 'qdrant', tool: 'python3', fix: PYTHON_HINT }];
    },

    async start(context, previous): Promise<ComponentRecord> {
      const mode = chooseQdrantMode(context.env);
      const baseDir = join(context.stateDir, 'qdrant');
      const logPath = join(baseDir, 'qdrant.log');
      mkdirSync(baseDir, { recursive: true });

      if (mode.kind === 'external') {
        const record: ComponentRecord = {
          name: 'qdrant', port: Number(new URL(mode.url).port || 80), address: mode.url, logPath, managed: false,
          flavour: 'external Qdrant from QDRANT_URL',
        };
        if (!(await answersReadyz(mode.url))) {
          throw usageError(`qdrant: QDRANT_URL=${mode.url} does not respond to GET /readyz`, 'start that Qdrant, or unset QDRANT_URL to let the harness start one');
        }
        context.state.components.qdrant = record;
        context.saveState();
        return record;
      }

      const python = mode.kind === 'stand-in' ? await ensureVenv(context) : undefined;
      const port = await choosePort(previous?.port, context.takenPorts);
      context.takenPorts.add(port);
      const grpcPort = await choosePort(previous?.extraPorts?.grpc, context.takenPorts);
      context.takenPorts.add(grpcPort);
      const daemon = spawnQdrant(mode, python, port, grpcPort, baseDir, context, logPath);
      const address = `http://127.0.0.1:${port}`;
      const record: ComponentRecord = {
        name: 'qdrant',
        port,
        extraPorts: mode.kind === 'binary' ? { grpc: grpcPort } : undefined,
        address,
        pid: daemon.pid,
        logPath,
        managed: true,
        flavour: mode.kind === 'binary' ? `qdrant binary ${mode.path}` : `qdrant-edge stand-in (qdrant-edge-py ${QDRANT_EDGE_VERSION})`,
        startedAt: new Date().toISOString(),
      };
      context.state.components.qdrant = record;
      context.saveState();

      await waitUntilReady({
        component: 'qdrant', port, logPath, daemon, timeoutMs: READY_TIMEOUT_MS,
        probe: () => answersReadyz(address), progress: context.progress, signal: context.signal,
      });
      return record;
    },

    probe: (record) => answersReadyz(record.address),
  };
}
