/**
 * The Helm chart: `helm lint --strict` with each values file, `helm template`
 * output validated against the Kubernetes 1.37.0 JSON schemas bundled by
 * kubernetes-validate, and assertions on what the deployment relies on.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { KUBERNETES_VERSION, findTool, runTool } from './test-tools.js';

type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
};

const PROFILES = ['values.yaml', 'values-kind.yaml', 'values-production.yaml'] as const;
const FULL = 'soma-memory-somafractalmemory';
const TAG = 'src-0123456789ab';
/** Kinds without a schema in kubernetes-validate: Prometheus Operator custom resources. */
const CUSTOM_KINDS = new Set(['ServiceMonitor', 'PrometheusRule']);

let helm: string;
let workDir: string;

before(() => {
  helm = findTool('helm');
  workDir = mkdtempSync(join(tmpdir(), 'soma-chart-test-'));
});

after(() => {
  rmSync(workDir, { recursive: true, force: true });
});

function render(valuesFile: string | undefined, sets: string[] = []): { text: string; manifests: Manifest[] } {
  const args = ['template', 'soma-memory', './helm', '--namespace', 'soma', '--kube-version', KUBERNETES_VERSION];
  if (valuesFile) args.push('-f', `helm/${valuesFile}`);
  for (const set of [`image.tag=${TAG}`, ...sets]) args.push('--set', set);
  const result = runTool(helm, args);
  assert.equal(result.exitCode, 0, `helm template ${valuesFile} failed:\n${result.stderr}`);
  const manifests = parseAllDocuments(result.stdout)
    .map((document) => document.toJS() as Manifest | null)
    .filter((manifest): manifest is Manifest => manifest !== null);
  return { text: result.stdout, manifests };
}

function find(manifests: Manifest[], kind: string, name: string): Manifest {
  const manifest = manifests.find((entry) => entry.kind === kind && entry.metadata.name === name);
  assert.ok(manifest, `${kind}/${name} not rendered; rendered: ${manifests.map((entry) => `${entry.kind}/${entry.metadata.name}`).join(', ')}`);
  return manifest;
}

function workloads(manifests: Manifest[]): Manifest[] {
  return manifests.filter((manifest) => manifest.kind === 'Deployment' || manifest.kind === 'StatefulSet');
}

function containers(workload: Manifest): any[] {
  return [...(workload.spec.template.spec.initContainers ?? []), ...workload.spec.template.spec.containers];
}

function envOf(container: any, name: string): any {
  return (container.env ?? []).find((entry: any) => entry.name === name);
}

/** Label selector semantics of Kubernetes for matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist). */
function selects(selector: any, labels: Record<string, string>): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const expression of selector.matchExpressions ?? []) {
    const value = labels[expression.key];
    if (expression.operator === 'In' && !expression.values.includes(value)) return false;
    if (expression.operator === 'NotIn' && expression.values.includes(value)) return false;
    if (expression.operator === 'Exists' && value === undefined) return false;
    if (expression.operator === 'DoesNotExist' && value !== undefined) return false;
  }
  return true;
}

describe('helm lint', () => {
  for (const profile of PROFILES) {
    test(`passes --strict with ${profile}`, () => {
      const result = runTool(helm, ['lint', '--strict', './helm', '-f', `helm/${profile}`, '--set', `image.tag=${TAG}`]);
      assert.equal(result.exitCode, 0, `${result.stdout}\n${result.stderr}`);
      assert.match(result.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    });
  }

  test('rejects a missing image tag', () => {
    const result = runTool(helm, ['template', 'soma-memory', './helm']);
    assert.notEqual(result.exitCode, 0);
    assert.match(result.stderr, /image\.tag is required/);
  });

  test('rejects the latest image tag', () => {
    const result = runTool(helm, ['template', 'soma-memory', './helm', '--set', 'image.tag=latest']);
    assert.notEqual(result.exitCode, 0);
    assert.match(result.stderr, /image\.tag must not be "latest"/);
  });
});

describe('helm template', () => {
  for (const profile of PROFILES) {
    test(`${profile} output validates against Kubernetes ${KUBERNETES_VERSION} schemas`, () => {
      const { text, manifests } = render(profile);
      const file = join(workDir, `rendered-${profile}`);
      writeFileSync(file, text);
      const result = runTool(findTool('kubernetes-validate'), ['--strict', '-k', KUBERNETES_VERSION, file]);
      assert.equal(result.exitCode, 0, `schema validation failed:\n${result.stdout}\n${result.stderr}`);

      const passed = result.stdout.split('\n').filter((line) => line.includes(' passed for resource '));
      const builtIn = manifests.filter((manifest) => !CUSTOM_KINDS.has(manifest.kind));
      assert.equal(passed.length, builtIn.length, `every built-in object is validated:\n${result.stdout}`);
      const unvalidated = manifests.filter((manifest) => CUSTOM_KINDS.has(manifest.kind)).map((manifest) => manifest.kind);
      for (const kind of unvalidated) assert.match(result.stdout + result.stderr, new RegExp(`Couldn't find schema for kind ${kind}`));
    });
  }

  test('names every object after the release and labels it with the chart name', () => {
    const { manifests } = render('values-kind.yaml');
    find(manifests, 'Deployment', FULL);
    find(manifests, 'Deployment', `${FULL}-consumer`);
    for (const backend of ['postgres', 'qdrant', 'kafka']) {
      find(manifests, 'StatefulSet', `${FULL}-${backend}`);
      find(manifests, 'Service', `${FULL}-${backend}`);
    }
    for (const manifest of manifests) {
      assert.ok(manifest.metadata.name.startsWith(FULL), `${manifest.kind}/${manifest.metadata.name} is named after the release`);
      assert.equal(manifest.metadata.labels?.['app.kubernetes.io/name'], 'somafractalmemory', `${manifest.kind}/${manifest.metadata.name} label`);
    }
    for (const workload of workloads(manifests)) {
      assert.equal(workload.spec.template.metadata.labels['app.kubernetes.io/name'], 'somafractalmemory', `${workload.metadata.name} pod label`);
      assert.ok(selects(workload.spec.selector, workload.spec.template.metadata.labels), `${workload.metadata.name} selector matches its pods`);
    }
  });

  test('probes the service on /healthz and /readyz and every backend', () => {
    const { manifests } = render('values-kind.yaml');
    for (const name of [FULL, `${FULL}-consumer`]) {
      const container = containers(find(manifests, 'Deployment', name))[0];
      assert.equal(container.livenessProbe.httpGet.path, '/healthz', `${name} liveness`);
      assert.equal(container.readinessProbe.httpGet.path, '/readyz', `${name} readiness`);
      assert.equal(container.startupProbe.httpGet.path, '/healthz', `${name} startup`);
      assert.equal(container.readinessProbe.httpGet.port, 'http');
    }
    for (const backend of ['postgres', 'qdrant', 'kafka']) {
      const container = containers(find(manifests, 'StatefulSet', `${FULL}-${backend}`))[0];
      assert.ok(container.readinessProbe, `${backend} readiness probe`);
      assert.ok(container.livenessProbe, `${backend} liveness probe`);
    }
  });

  for (const profile of PROFILES) {
    test(`${profile} sets requests and limits on every container`, () => {
      const { manifests } = render(profile);
      for (const workload of workloads(manifests)) {
        for (const container of containers(workload)) {
          const where = `${workload.metadata.name}/${container.name}`;
          for (const kind of ['requests', 'limits']) {
            assert.ok(container.resources?.[kind]?.cpu, `${where} ${kind}.cpu`);
            assert.ok(container.resources?.[kind]?.memory, `${where} ${kind}.memory`);
          }
        }
      }
    });
  }

  test('reads the API token from a Secret, never from the ConfigMap', () => {
    const { manifests } = render('values-kind.yaml');
    const secret = find(manifests, 'Secret', `${FULL}-api-token`);
    assert.match(Buffer.from((secret as any).data['api-token'], 'base64').toString(), /^[A-Za-z0-9]{32}$/);
    for (const name of [FULL, `${FULL}-consumer`]) {
      const token = envOf(containers(find(manifests, 'Deployment', name))[0], 'SOMA_API_TOKEN');
      assert.deepEqual(token.valueFrom.secretKeyRef, { name: `${FULL}-api-token`, key: 'api-token' });
    }
    assert.equal(find(manifests, 'ConfigMap', FULL).data?.SOMA_API_TOKEN, undefined);

    const existing = render('values-kind.yaml', ['auth.existingSecret=team-token', 'auth.existingSecretKey=token']).manifests;
    assert.equal(existing.find((manifest) => manifest.kind === 'Secret' && manifest.metadata.name === `${FULL}-api-token`), undefined);
    assert.deepEqual(envOf(containers(find(existing, 'Deployment', FULL))[0], 'SOMA_API_TOKEN').valueFrom.secretKeyRef, { name: 'team-token', key: 'token' });
  });

  test('production profile has HPA and PDB for the API and the consumers', () => {
    const { manifests } = render('values-production.yaml');
    for (const name of [FULL, `${FULL}-consumer`]) {
      const deployment = find(manifests, 'Deployment', name);
      const hpa = find(manifests, 'HorizontalPodAutoscaler', name);
      assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name });
      assert.ok(hpa.spec.minReplicas >= 3, `${name} HPA minReplicas ${hpa.spec.minReplicas}`);
      assert.ok(hpa.spec.maxReplicas > hpa.spec.minReplicas, `${name} HPA maxReplicas ${hpa.spec.maxReplicas}`);
      assert.equal(deployment.spec.replicas, undefined, `${name} leaves replicas to the HPA`);
      const pdb = find(manifests, 'PodDisruptionBudget', name);
      assert.equal(pdb.spec.minAvailable, 2);
      assert.ok(selects(pdb.spec.selector, deployment.spec.template.metadata.labels), `${name} PDB selects its pods`);
    }
  });

  test('NetworkPolicies let only the service pods reach the backends', () => {
    const { manifests } = render('values-kind.yaml');
    const podLabels = new Map(workloads(manifests).map((workload) => [workload.metadata.name, workload.spec.template.metadata.labels as Record<string, string>]));
    const api = podLabels.get(FULL)!;
    const consumer = podLabels.get(`${FULL}-consumer`)!;
    const strangerPod = { 'app.kubernetes.io/name': 'somafractalmemory', 'app.kubernetes.io/instance': 'other-release', 'app.kubernetes.io/component': 'api' };
    const policies = manifests.filter((manifest) => manifest.kind === 'NetworkPolicy');

    for (const backend of ['postgres', 'qdrant', 'kafka']) {
      const backendPod = podLabels.get(`${FULL}-${backend}`)!;
      const governing = policies.filter((policy) => selects(policy.spec.podSelector, backendPod));
      assert.equal(governing.length, 1, `one policy selects the ${backend} pods`);
      const policy = governing[0]!;
      assert.deepEqual(policy.spec.policyTypes, ['Ingress']);

      const podRules = policy.spec.ingress.filter((rule: any) => rule.from);
      const admits = (labels: Record<string, string>) => podRules.some((rule: any) => rule.from.some((peer: any) => peer.podSelector && !peer.namespaceSelector && selects(peer.podSelector, labels)));
      assert.ok(admits(api), `API reaches ${backend}`);
      assert.ok(admits(consumer), `consumers reach ${backend}`);
      assert.ok(!admits(strangerPod), `another release's pods do not reach ${backend}`);
      for (const other of ['postgres', 'qdrant', 'kafka'].filter((name) => name !== backend)) {
        assert.ok(!admits(podLabels.get(`${FULL}-${other}`)!), `${other} does not reach ${backend}`);
      }
      for (const rule of podRules) for (const peer of rule.from) assert.ok(!peer.ipBlock && !peer.namespaceSelector, `${backend} admits no address range or namespace`);

      const openRules = policy.spec.ingress.filter((rule: any) => !rule.from);
      if (backend === 'kafka') {
        assert.deepEqual(openRules.map((rule: any) => rule.ports), [[{ port: 'external', protocol: 'TCP' }]], 'only the EXTERNAL listener is open, for lag reads from the host');
      } else {
        assert.equal(openRules.length, 0, `${backend} has no rule open to every peer`);
      }
    }
  });

  test('backends keep their data on PersistentVolumeClaims', () => {
    for (const [profile, size] of [['values.yaml', '8Gi'], ['values-kind.yaml', '1Gi']] as const) {
      const { manifests } = render(profile);
      for (const backend of ['postgres', 'qdrant', 'kafka']) {
        const statefulSet = find(manifests, 'StatefulSet', `${FULL}-${backend}`);
        const [claim] = statefulSet.spec.volumeClaimTemplates;
        assert.equal(claim.metadata.name, 'data');
        assert.deepEqual(claim.spec.accessModes, ['ReadWriteOnce']);
        assert.equal(claim.spec.resources.requests.storage, size, `${profile} ${backend} volume size`);
        assert.ok(containers(statefulSet)[0].volumeMounts.some((mount: any) => mount.name === 'data'), `${backend} mounts its claim`);
      }
    }
  });

  test('production profile switches to external TLS backends', () => {
    const { manifests } = render('values-production.yaml');
    for (const backend of ['postgres', 'qdrant', 'kafka']) {
      assert.ok(!manifests.some((manifest) => manifest.metadata.name === `${FULL}-${backend}`), `no in-chart ${backend}`);
    }
    assert.ok(!manifests.some((manifest) => manifest.kind === 'Secret'), 'credentials come from existing Secrets');

    const config = find(manifests, 'ConfigMap', FULL).data!;
    assert.match(config.SOMA_QDRANT_URL!, /^https:\/\//);
    assert.equal(config.SOMA_KAFKA_BROKERS, 'kafka-0.example.test:9093,kafka-1.example.test:9093,kafka-2.example.test:9093');
    assert.equal(config.SOMA_KAFKA_SSL, 'true');
    assert.equal(config.SOMA_KAFKA_SSL_CA_FILE, '/etc/soma/tls/kafka/ca.crt');
    assert.equal(config.SOMA_KAFKA_SASL_MECHANISM, 'scram-sha-512');

    for (const name of [FULL, `${FULL}-consumer`]) {
      const deployment = find(manifests, 'Deployment', name);
      const container = containers(deployment)[0];
      assert.deepEqual(envOf(container, 'SOMA_POSTGRES_URL').valueFrom.secretKeyRef, { name: 'soma-postgres', key: 'url' });
      assert.deepEqual(envOf(container, 'SOMA_QDRANT_API_KEY').valueFrom.secretKeyRef, { name: 'soma-qdrant', key: 'api-key' });
      assert.deepEqual(envOf(container, 'SOMA_KAFKA_SASL_PASSWORD').valueFrom.secretKeyRef, { name: 'soma-kafka', key: 'password' });
      assert.equal(envOf(container, 'POSTGRES_PASSWORD'), undefined);
      const mounts = container.volumeMounts.map((mount: any) => mount.mountPath);
      assert.ok(mounts.includes('/etc/soma/tls/postgres'), `${name} mounts the Postgres CA certificate`);
      assert.ok(mounts.includes('/etc/soma/tls/kafka'), `${name} mounts the Kafka CA certificate`);

      const podSecurity = deployment.spec.template.spec.securityContext;
      assert.equal(podSecurity.runAsNonRoot, true);
      assert.equal(podSecurity.seccompProfile.type, 'RuntimeDefault');
      assert.equal(container.securityContext.readOnlyRootFilesystem, true);
      assert.equal(container.securityContext.allowPrivilegeEscalation, false);
      assert.deepEqual(container.securityContext.capabilities.drop, ['ALL']);
      assert.deepEqual(deployment.spec.template.spec.imagePullSecrets, [{ name: 'soma-registry' }]);
    }

    const ingress = find(manifests, 'Ingress', FULL);
    assert.deepEqual(ingress.spec.tls, [{ secretName: 'soma-ingress-tls', hosts: ['soma.example.test'] }]);
    const rule = find(manifests, 'PrometheusRule', FULL);
    const expressions = rule.spec.groups[0].rules.map((entry: any) => entry.expr).join('\n');
    for (const metric of ['soma_consumer_lag', 'soma_qdrant_write_failures_total', 'soma_postgres_write_duration_seconds_bucket']) assert.match(expressions, new RegExp(metric));
    find(manifests, 'ServiceMonitor', FULL);
    find(manifests, 'ServiceMonitor', `${FULL}-consumer`);
    const apiPolicy = find(manifests, 'NetworkPolicy', `${FULL}-api`);
    assert.equal(apiPolicy.spec.ingress[0].from.length, 2, 'the API admits only the ingress and monitoring namespaces');
  });

  test('kind profile advertises Kafka on 127.0.0.1:30092 through a NodePort', () => {
    const { manifests } = render('values-kind.yaml');
    const kafka = containers(find(manifests, 'StatefulSet', `${FULL}-kafka`))[0];
    assert.match(envOf(kafka, 'KAFKA_ADVERTISED_LISTENERS').value, /EXTERNAL:\/\/127\.0\.0\.1:30092/);
    assert.match(envOf(kafka, 'KAFKA_LISTENERS').value, /EXTERNAL:\/\/:9094/);
    const service = find(manifests, 'Service', `${FULL}-kafka-external`);
    assert.equal(service.spec.type, 'NodePort');
    assert.deepEqual(service.spec.ports, [{ name: 'external', port: 9094, targetPort: 'external', nodePort: 30092, protocol: 'TCP' }]);

    const api = containers(find(manifests, 'Deployment', FULL))[0];
    assert.equal(api.image, `soma-memory:${TAG}`);
    assert.equal(api.imagePullPolicy, 'Never', 'images loaded with kind load exist only on the node');
    assert.equal(find(manifests, 'ConfigMap', FULL).data?.SOMA_KAFKA_BROKERS, `${FULL}-kafka:9092`);
    assert.equal(find(manifests, 'Deployment', FULL).spec.template.spec.enableServiceLinks, false);
  });

  test('direct mode renders no consumers and no Kafka', () => {
    const { manifests } = render('values-kind.yaml', ['eventing.enabled=false']);
    assert.ok(!manifests.some((manifest) => manifest.metadata.name.includes('consumer')));
    assert.ok(!manifests.some((manifest) => manifest.metadata.name.includes('kafka')));
    assert.equal(find(manifests, 'ConfigMap', FULL).data?.SOMA_EVENTING_ENABLED, 'false');
  });
});
