/**
 * kind/cluster.yaml, checked by tools/kind-config-check: a strict decode into
 * kind v0.33.0's v1alpha4 Cluster type plus the checks kind runs before it
 * creates a cluster.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { KUBERNETES_VERSION, REPO_ROOT, findTool, runTool } from './test-tools.js';

let checker: string;
let workDir: string;

before(() => {
  checker = findTool('kind-config-check');
  workDir = mkdtempSync(join(tmpdir(), 'soma-kind-config-'));
});

after(() => {
  rmSync(workDir, { recursive: true, force: true });
});

function check(file: string) {
  return runTool(checker, [file]);
}

describe('kind/cluster.yaml', () => {
  test('decodes strictly as a v1alpha4 Cluster named soma-cluster', () => {
    const result = check(join(REPO_ROOT, 'kind/cluster.yaml'));
    assert.equal(result.exitCode, 0, result.stderr);
    const cluster = JSON.parse(result.stdout);
    assert.equal(cluster.name, 'soma-cluster');
    assert.equal(cluster.networking.apiServerAddress, '127.0.0.1');
    assert.equal(cluster.nodes.length, 1);
    assert.equal(cluster.nodes[0].role, 'control-plane');
    assert.match(cluster.nodes[0].image, new RegExp(`^kindest/node:v${KUBERNETES_VERSION.replace(/\./g, '\\.')}@sha256:[0-9a-f]{64}$`), 'node image runs the Kubernetes version the chart is validated against');
  });

  test('publishes the Kafka NodePort of values-kind.yaml on 127.0.0.1', () => {
    const cluster = JSON.parse(check(join(REPO_ROOT, 'kind/cluster.yaml')).stdout);
    const values = parse(readFileSync(join(REPO_ROOT, 'helm/values-kind.yaml'), 'utf8'));
    const nodePort = values.kafka.externalAccess.nodePort;
    assert.equal(values.kafka.externalAccess.advertisedHost, '127.0.0.1');
    assert.deepEqual(cluster.nodes[0].extraPortMappings, [{ containerPort: nodePort, hostPort: nodePort, listenAddress: '127.0.0.1', protocol: 'TCP' }]);
  });

  test('checker rejects a misspelt field', () => {
    const file = join(workDir, 'typo.yaml');
    writeFileSync(file, 'kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nname: soma-cluster\nnodes:\n  - role: control-plane\n    extraPortMapping: []\n');
    const result = check(file);
    assert.equal(result.exitCode, 1);
    assert.match(result.stderr, /field extraPortMapping not found in type v1alpha4\.Node/);
  });

  test('checker rejects duplicate host ports and a missing control plane', () => {
    const file = join(workDir, 'invalid.yaml');
    writeFileSync(
      file,
      'kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nname: Soma_Cluster\nnodes:\n  - role: worker\n    extraPortMappings:\n      - {containerPort: 30092, hostPort: 30092}\n      - {containerPort: 30093, hostPort: 30092, listenAddress: 127.0.0.1}\n',
    );
    const result = check(file);
    assert.equal(result.exitCode, 1);
    assert.match(result.stderr, /name "Soma_Cluster" must match/);
    assert.match(result.stderr, /127\.0\.0\.1:30092\/TCP is already bound/);
    assert.match(result.stderr, /at least one control-plane node is required/);
  });

  test('checker rejects another apiVersion', () => {
    const file = join(workDir, 'old.yaml');
    writeFileSync(file, 'kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha3\nname: soma-cluster\n');
    const result = check(file);
    assert.equal(result.exitCode, 1);
    assert.match(result.stderr, /expected kind "Cluster" and apiVersion "kind\.x-k8s\.io\/v1alpha4"/);
  });
});
