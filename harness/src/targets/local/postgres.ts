import { chownSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import pg from 'pg';
import { usageError } from '../../exit-codes.js';
import { spawnDaemon } from '../../process/daemon.js';
import { findOnPath, listVersionDirs, realPath } from '../../process/executables.js';
import { choosePort } from '../../process/ports.js';
import { lastLines, runCommand } from '../../process/run-command.js';
import type { LocalComponent, MissingTool, StartContext } from './component.js';
import { waitUntilReady } from './readiness.js';
import type { ComponentRecord } from './state.js';

const POSTGRES_USER = 'postgres';
const DATABASE = 'postgres';
const READY_TIMEOUT_MS = 30_000;
const INITDB_TIMEOUT_MS = 120_000;
/** Debian's layout: /usr/lib/postgresql/<major>/bin. */
const DISTRIBUTION_ROOT = '/usr/lib/postgresql';
const INSTALL_HINT = 'install the Debian package postgresql (apt-get install -y postgresql)';

interface PostgresBinaries {
  initdb: string;
  postgres: string;
}

interface RunAs {
  uid: number;
  gid: number;
}

/** Finds initdb and postgres on PATH, else under the highest /usr/lib/postgresql/<version>/bin. */
export function findPostgresBinaries(env: NodeJS.ProcessEnv): PostgresBinaries | undefined {
  const onPath = findOnPath('initdb', env);
  const dirs = onPath ? [dirname(realPath(onPath))] : [];
  dirs.push(...listVersionDirs(DISTRIBUTION_ROOT).map((dir) => join(dir, 'bin')));
  for (const dir of dirs) {
    const initdb = join(dir, 'initdb');
    const postgres = join(dir, 'postgres');
    if (existsSync(initdb) && existsSync(postgres)) return { initdb, postgres };
  }
  return undefined;
}

/** initdb and postgres refuse to run as root, so as root they run as the `postgres` user. */
async function resolveRunAs(): Promise<RunAs | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const ids = await runCommand({ command: 'id', args: ['-u', POSTGRES_USER], timeoutMs: 5000 });
  const groups = await runCommand({ command: 'id', args: ['-g', POSTGRES_USER], timeoutMs: 5000 });
  if (ids.code !== 0 || groups.code !== 0) {
    throw usageError(
      `postgres: running as root, but there is no "${POSTGRES_USER}" user to run initdb and postgres as`,
      INSTALL_HINT,
    );
  }
  return { uid: Number(ids.output.trim()), gid: Number(groups.output.trim()) };
}

/** The postgres user must be able to enter every folder above its data dir. */
function assertTraversable(dir: string): void {
  for (let current = resolve(dir); current !== dirname(current); current = dirname(current)) {
    if (!existsSync(current)) continue;
    if ((statSync(current).mode & 0o001) === 0) {
      throw usageError(
        `postgres: the "${POSTGRES_USER}" user cannot enter ${current} (no execute permission for others)`,
        `run \`chmod o+x ${current}\` or choose a --state-dir below a folder that others can enter`,
      );
    }
  }
}

export function postgresUrl(port: number): string {
  return `postgresql://${POSTGRES_USER}@127.0.0.1:${port}/${DATABASE}`;
}

async function initDataDir(binaries: PostgresBinaries, dataDir: string, runAs: RunAs | undefined, context: StartContext): Promise<void> {
  context.progress({ kind: 'info', message: `postgres: initdb ${dataDir}` });
  const result = await runCommand({
    command: binaries.initdb,
    // --no-sync: the cluster is disposable test data, and skipping fsync saves about half a second.
    args: ['-D', dataDir, '-U', POSTGRES_USER, '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync'],
    cwd: dirname(dataDir),
    env: { ...context.env, LC_ALL: 'C.UTF-8' },
    uid: runAs?.uid,
    gid: runAs?.gid,
    timeoutMs: INITDB_TIMEOUT_MS,
    signal: context.signal,
  });
  if (result.code !== 0) {
    throw usageError(
      `postgres: initdb failed with exit code ${result.code}:\n${lastLines(result.output).join('\n')}`,
      `check that ${dirname(dataDir)} is writable by the user that runs postgres`,
    );
  }
}

async function queryReady(port: number): Promise<boolean> {
  const client = new pg.Client({ connectionString: postgresUrl(port), connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

export function createPostgresComponent(): LocalComponent {
  return {
    name: 'postgres',
    // SIGINT is Postgres' "fast" shutdown: it ends sessions and checkpoints. SIGTERM
    // ("smart") would wait for every client to disconnect.
    stopSignal: 'SIGINT',
    stopGraceMs: 20_000,

    async findMissingTools(context): Promise<MissingTool[]> {
      if (findPostgresBinaries(context.env)) return [];
      return [{ component: 'postgres', tool: 'initdb and postgres', fix: INSTALL_HINT }];
    },

    async start(context, previous): Promise<ComponentRecord> {
      const binaries = findPostgresBinaries(context.env);
      if (!binaries) throw usageError('postgres: initdb not found on PATH or under /usr/lib/postgresql/*/bin', INSTALL_HINT);
      const runAs = await resolveRunAs();
      const baseDir = join(context.stateDir, 'postgres');
      const dataDir = join(baseDir, 'data');
      const logPath = join(baseDir, 'postgres.log');

      mkdirSync(baseDir, { recursive: true, mode: 0o755 });
      if (runAs) {
        assertTraversable(baseDir);
        chownSync(baseDir, runAs.uid, runAs.gid);
      }
      if (!existsSync(join(dataDir, 'PG_VERSION'))) await initDataDir(binaries, dataDir, runAs, context);

      const port = await choosePort(previous?.port, context.takenPorts);
      context.takenPorts.add(port);
      context.signal?.throwIfAborted();
      const daemon = spawnDaemon({
        command: binaries.postgres,
        args: [
          '-D', dataDir,
          '-p', String(port),
          '-c', 'listen_addresses=127.0.0.1',
          // TCP only: a socket path under a deep state dir can exceed the 107-byte limit.
          '-c', 'unix_socket_directories=',
          // The service pools, the consumers and parallel tests share one server.
          '-c', 'max_connections=200',
        ],
        cwd: baseDir,
        env: { ...context.env, LC_ALL: 'C.UTF-8' },
        logPath,
        uid: runAs?.uid,
        gid: runAs?.gid,
      });
      const record: ComponentRecord = {
        name: 'postgres',
        port,
        address: postgresUrl(port),
        pid: daemon.pid,
        logPath,
        managed: true,
        flavour: `postgres from ${dirname(binaries.postgres)}`,
        startedAt: new Date().toISOString(),
      };
      context.state.components.postgres = record;
      context.saveState();

      await waitUntilReady({
        component: 'postgres', port, logPath, daemon, timeoutMs: READY_TIMEOUT_MS,
        probe: () => queryReady(port), progress: context.progress, signal: context.signal,
      });
      return record;
    },

    probe: (record) => queryReady(record.port),
  };
}
