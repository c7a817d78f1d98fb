/**
 * The service image: a tag derived from the content that goes into it, the
 * docker build, and `kind load docker-image`. A content-derived tag (never
 * `latest`) makes every change roll the pods and lets a rebuild of unchanged
 * sources be skipped.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { usageError } from '../../exit-codes.js';
import type { CommandRunner } from './command-runner.js';
import { CLUSTER_NAME, IMAGE_REPOSITORY } from './settings.js';

/** Files and folders whose content ends up in the image (see service/Dockerfile). */
export const IMAGE_INPUTS = [
  'service/Dockerfile',
  '.dockerignore',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'service/src',
  'schemas',
];

function listFiles(rootDir: string, path: string): string[] {
  const absolute = join(rootDir, path);
  let stats;
  try {
    stats = statSync(absolute);
  } catch {
    return [];
  }
  if (stats.isFile()) return [path];
  return readdirSync(absolute)
    .flatMap((entry) => listFiles(rootDir, join(path, entry)))
    .filter((file) => !file.endsWith('.test.ts'));
}

/**
 * Returns `src-<12 hex>`: a sha256 over the path and content of every image
 * input (tests excluded, as .dockerignore excludes them) and the base image.
 */
export function computeImageTag(rootDir: string, nodeImage?: string): string {
  const files = IMAGE_INPUTS.flatMap((path) => listFiles(rootDir, path))
    .map((file) => relative(rootDir, join(rootDir, file)).split(sep).join('/'))
    .sort();
  const hash = createHash('sha256');
  hash.update(`node-image:${nodeImage ?? 'dockerfile-default'}\n`);
  for (const file of files) {
    const contentHash = createHash('sha256').update(readFileSync(join(rootDir, file))).digest('hex');
    hash.update(`${file}\0${contentHash}\n`);
  }
  return `src-${hash.digest('hex').slice(0, 12)}`;
}

export function imageRef(tag: string): string {
  return `${IMAGE_REPOSITORY}:${tag}`;
}

export interface BuildImageOptions {
  rootDir: string;
  tag: string;
  nodeImage?: string;
  /** `docker build --network`, e.g. "host" where the daemon runs without a bridge. */
  network?: string;
  signal?: AbortSignal;
}

export async function imageExists(runner: CommandRunner, ref: string, signal?: AbortSignal): Promise<boolean> {
  const result = await runner.run('docker', ['image', 'inspect', '--format', '{{.Id}}', ref], { signal, timeoutMs: 60_000 });
  return result.exitCode === 0;
}

/** Builds service/Dockerfile as soma-memory:<tag> unless that image exists; returns whether it built. */
export async function ensureImage(runner: CommandRunner, options: BuildImageOptions): Promise<boolean> {
  const ref = imageRef(options.tag);
  if (await imageExists(runner, ref, options.signal)) return false;

  const args = ['build', '--file', 'service/Dockerfile', '--tag', ref];
  if (options.nodeImage) args.push('--build-arg', `NODE_IMAGE=${options.nodeImage}`);
  if (options.network) args.push('--network', options.network);
  args.push('.');
  const result = await runner.run('docker', args, { cwd: options.rootDir, signal: options.signal, timeoutMs: 1_800_000 });
  if (result.exitCode !== 0) {
    const output = `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-15).join('\n  ');
    throw usageError(
      `docker build of ${ref} failed (exit ${result.exitCode}):\n  ${output}`,
      'fix the build error above; without registry access set SOMA_NODE_IMAGE to a local Node base image (tools/image/build-base-image.sh makes one)',
    );
  }
  return true;
}

export async function tagImage(runner: CommandRunner, fromTag: string, toTag: string, signal?: AbortSignal): Promise<void> {
  const result = await runner.run('docker', ['tag', imageRef(fromTag), imageRef(toTag)], { signal, timeoutMs: 60_000 });
  if (result.exitCode !== 0) {
    throw usageError(`docker tag ${imageRef(fromTag)} ${imageRef(toTag)} failed: ${result.stderr.trim()}`, 'run `soma-harness up --target kind` first so the image exists');
  }
}

export async function loadImage(runner: CommandRunner, tag: string, signal?: AbortSignal): Promise<void> {
  const ref = imageRef(tag);
  const result = await runner.run('kind', ['load', 'docker-image', ref, '--name', CLUSTER_NAME], { signal, timeoutMs: 600_000 });
  if (result.exitCode !== 0) {
    throw usageError(`kind load docker-image ${ref} failed (exit ${result.exitCode}): ${result.stderr.trim()}`, `check that the cluster ${CLUSTER_NAME} runs (kind get clusters)`);
  }
}
