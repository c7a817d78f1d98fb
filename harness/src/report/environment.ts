/**
 * The environment section of a run: versions, git revision, target and
 * endpoints (without secrets).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, platform, release } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TargetEndpoints } from '../targets/types.js';
import { redactUrl } from '../verify/postgres-store.js';
import { describeQdrant, fetchQdrantInfo } from './qdrant-info.js';
import type { EnvironmentInfo } from './summary.js';

function git(rootDir: string, args: string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: rootDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim();
  } catch {
    return null;
  }
}

function harnessVersion(rootDir: string): string {
  try {
    return (JSON.parse(readFileSync(join(rootDir, 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

async function postgresVersion(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    const result = await client.query<{ server_version: string }>('SHOW server_version');
    return result.rows[0]?.server_version;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Collects the environment; a backend that cannot be reached is left out of backendVersions. */
export async function collectEnvironment(rootDir: string, endpoints: TargetEndpoints, command: string): Promise<EnvironmentInfo> {
  const [postgres, qdrant] = await Promise.all([
    endpoints.postgresUrl ? postgresVersion(endpoints.postgresUrl) : undefined,
    endpoints.qdrantUrl ? fetchQdrantInfo(endpoints.qdrantUrl, endpoints.qdrantApiKey) : undefined,
  ]);
  const backendVersions: Record<string, string> = {};
  if (postgres) backendVersions.postgres = postgres;
  const qdrantVersion = qdrant ? describeQdrant(qdrant) : undefined;
  if (qdrantVersion) backendVersions.qdrant = qdrantVersion;
  const standIns: Record<string, string> = {};
  if (qdrant?.standIn) standIns.qdrant = qdrant.standIn;
  const status = git(rootDir, ['status', '--porcelain', '--untracked-files=no']);
  return {
    target: endpoints.target,
    apiUrl: endpoints.apiUrl,
    postgres: redactUrl(endpoints.postgresUrl),
    qdrantUrl: endpoints.qdrantUrl,
    kafkaBrokers: endpoints.kafkaBrokers,
    topic: endpoints.topic,
    consumerGroups: endpoints.consumerGroups,
    defaultNamespace: endpoints.namespace,
    harnessVersion: harnessVersion(rootDir),
    nodeVersion: process.version,
    platform: `${platform()} ${release()}`,
    cpus: cpus().length,
    gitSha: git(rootDir, ['rev-parse', 'HEAD']),
    gitDirty: status === null ? null : status.length > 0,
    backendVersions,
    standIns,
    command,
  };
}
