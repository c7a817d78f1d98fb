/**
 * tools/image/dockerd.sh against a real Docker daemon in a cache dir of its
 * own: after `stop`, nothing the daemon mounted stays under that dir, so the
 * dir can be deleted. Needs root and dockerd (Debian package docker.io); the
 * test is skipped without them, and fails instead with CI=true.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT_DIR } from './support/backends.js';

const SCRIPT = join(ROOT_DIR, 'tools', 'image', 'dockerd.sh');

/** Returns the mount points under `dir`, decoded from /proc/self/mountinfo (field 5, octal escapes). */
function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .map((field) => field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))))
    .filter((mountPoint) => mountPoint.startsWith(`${dir}/`));
}

function whyNotRunnable(): string | undefined {
  if (process.getuid?.() !== 0) return 'dockerd needs root';
  if (spawnSync('sh', ['-c', 'command -v dockerd && command -v docker'], { stdio: 'ignore' }).status !== 0) {
    return 'dockerd or docker not found (apt-get install -y docker.io)';
  }
  return undefined;
}

test('dockerd.sh stop leaves no mount under the cache dir', (t) => {
  const reason = whyNotRunnable();
  if (reason && process.env.CI !== 'true') {
    t.skip(reason);
    return;
  }
  assert.equal(reason, undefined, reason);

  const cacheDir = mkdtempSync(join(tmpdir(), 'soma-dockerd-'));
  const stateDir = join(cacheDir, 'dockerd');
  const env = { ...process.env, SOMA_CACHE_DIR: cacheDir, DOCKER_HOST: `unix://${join(stateDir, 'docker.sock')}` };
  const script = (command: string) => spawnSync('bash', [SCRIPT, command], { env, encoding: 'utf8' });
  const docker = (args: string[], input?: Buffer) => spawnSync('docker', args, { env, input, encoding: 'utf8' });
  try {
    const started = script('start');
    assert.equal(started.status, 0, started.stderr);

    // A host-network container makes the daemon mount the host's network
    // namespace under exec/netns. The image holds one file, so the container
    // fails to execute it, but only after its network was set up.
    const imageDir = mkdtempSync(join(tmpdir(), 'soma-dockerd-image-'));
    copyFileSync('/bin/true', join(imageDir, 'true'));
    const tar = spawnSync('tar', ['-C', imageDir, '-c', '.']);
    rmSync(imageDir, { recursive: true, force: true });
    const imported = docker(['import', '-', 'soma-dockerd-test:1'], tar.stdout);
    assert.equal(imported.status, 0, imported.stderr);
    docker(['run', '--rm', '--network', 'host', 'soma-dockerd-test:1', '/true']);
    assert.ok(
      mountsUnder(stateDir).some((mountPoint) => mountPoint.includes('/exec/netns/')),
      `the daemon mounted a network namespace under ${stateDir}/exec/netns: ${mountsUnder(stateDir).join(', ')}`,
    );

    const stopped = script('stop');
    assert.equal(stopped.status, 0, stopped.stderr);
    assert.deepEqual(mountsUnder(cacheDir), []);
    rmSync(cacheDir, { recursive: true });
  } finally {
    script('stop');
    rmSync(cacheDir, { recursive: true, force: true });
  }
});
