import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { ConfigMap, Service, ServiceAccount } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';

// The manifests in deploy/kubernetes are rendered here the way `kubectl apply -k` would (resources
// listed in kustomization.yaml, common labels added) and validated twice, offline: against the
// Kubernetes JSON schemas as the kubernetes-models package ships them (generated from the Kubernetes
// OpenAPI document: required fields, types, formats), and against the field lists of the
// @kubernetes/client-node models, because those JSON schemas allow unknown fields and kubeconform
// -strict does not (a misspelt `replica:` must fail).
const base = path.resolve('deploy/kubernetes');
type Obj = Record<string, any>;

function render(): Obj[] {
  const kustomization = parseAllDocuments(readFileSync(path.join(base, 'kustomization.yaml'), 'utf8'))[0].toJS() as Obj;
  const labels = Object.assign({}, ...((kustomization.labels ?? []) as Obj[]).map((l) => l.pairs));
  return (kustomization.resources as string[]).flatMap((file) =>
    parseAllDocuments(readFileSync(path.join(base, file), 'utf8'))
      .map((d) => d.toJS() as Obj)
      .filter(Boolean)
      .map((doc) => ({ ...doc, metadata: { ...doc.metadata, labels: { ...doc.metadata?.labels, ...labels } } })),
  );
}

const MODELS: Record<string, string> = {
  'v1/ConfigMap': 'V1ConfigMap',
  'v1/ServiceAccount': 'V1ServiceAccount',
  'v1/Service': 'V1Service',
  'apps/v1/Deployment': 'V1Deployment',
  'policy/v1/PodDisruptionBudget': 'V1PodDisruptionBudget',
  'autoscaling/v2/HorizontalPodAutoscaler': 'V2HorizontalPodAutoscaler',
  'rbac.authorization.k8s.io/v1/Role': 'V1Role',
  'rbac.authorization.k8s.io/v1/RoleBinding': 'V1RoleBinding',
};

/** The JSON-schema validator of each kind (kubernetes-models' `validate()` throws listing every violation). */
const SCHEMAS: Record<string, new (data: any) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/ServiceAccount': ServiceAccount,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'rbac.authorization.k8s.io/v1/Role': Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding,
};

/** The JSON-schema violations of one object, or '' when it is valid. */
function schemaProblems(d: Obj): string {
  const Kind = SCHEMAS[`${d.apiVersion}/${d.kind}`];
  assert.ok(Kind, `no JSON schema for ${d.apiVersion} ${d.kind}`);
  try {
    new Kind(d).validate();
    return '';
  } catch (err) {
    return `${d.kind}/${d.metadata?.name}: ${(err as Error).message}`;
  }
}

type Attr = { name: string; baseName: string; type: string };

/** Checks a value against a client-node model type; returns the problems with their paths. */
function check(value: unknown, type: string, at: string, out: string[]): void {
  if (value === undefined || value === null) return;
  const arr = /^Array<(.+)>$/.exec(type);
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (arr) {
    if (!Array.isArray(value)) return void out.push(`${at}: must be a list`);
    value.forEach((v, i) => check(v, arr[1], `${at}[${i}]`, out));
  } else if (map) {
    if (typeof value !== 'object' || Array.isArray(value)) return void out.push(`${at}: must be a mapping`);
    for (const [k, v] of Object.entries(value)) check(v, map[1], `${at}.${k}`, out);
  } else if (type === 'string' || type === 'Date') {
    if (typeof value !== 'string') out.push(`${at}: must be a string`);
  } else if (type === 'number') {
    if (typeof value !== 'number') out.push(`${at}: must be a number`);
  } else if (type === 'boolean') {
    if (typeof value !== 'boolean') out.push(`${at}: must be a boolean`);
  } else if (type === 'IntOrString') {
    if (typeof value !== 'string' && typeof value !== 'number') out.push(`${at}: must be an int or a string`);
  } else if (type === 'any' || type === 'object') {
    // free-form in the API
  } else {
    const model = (k8s as any)[type] as { getAttributeTypeMap?: () => Attr[] } | undefined;
    assert.ok(model?.getAttributeTypeMap, `no model ${type} (at ${at})`);
    if (typeof value !== 'object' || Array.isArray(value)) return void out.push(`${at}: must be a mapping (${type})`);
    const attrs = model.getAttributeTypeMap();
    for (const [k, v] of Object.entries(value)) {
      const a = attrs.find((x) => x.baseName === k);
      if (!a) out.push(`${at}.${k}: unknown field of ${type}`);
      else check(v, a.type, `${at}.${k}`, out);
    }
  }
}

describe('deploy/kubernetes manifests (validated offline against the Kubernetes JSON schemas and API models)', () => {
  const docs = render();

  it('every rendered object is a known kind whose fields and types match the Kubernetes API', () => {
    assert.ok(docs.length >= 10);
    for (const d of docs) {
      const model = MODELS[`${d.apiVersion}/${d.kind}`];
      assert.ok(model, `unexpected ${d.apiVersion} ${d.kind}`);
      const problems: string[] = [];
      check(d, model, `${d.kind}/${d.metadata?.name}`, problems);
      assert.deepEqual(problems, []);
      assert.ok(d.metadata?.name, 'metadata.name is required');
    }
  });

  it('every rendered object validates against the Kubernetes JSON schema of its kind (required fields, types)', () => {
    assert.deepEqual(docs.map(schemaProblems).filter(Boolean), []);
  });

  it('the JSON-schema validation catches a missing required field', () => {
    const broken = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { template: { spec: { containers: [{ image: 'capstan' }] } } } };
    assert.match(schemaProblems(broken), /spec must have required property selector/);
    assert.match(schemaProblems(broken), /containers\/0 must have required property name/);
  });

  it('the validation catches an unknown field and a wrong type', () => {
    const problems: string[] = [];
    check({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { replica: 2, template: { spec: { containers: [{ name: 'c', ports: [{ containerPort: 'http' }] }] } } } }, 'V1Deployment', 'd', problems);
    assert.deepEqual(problems, ['d.spec.replica: unknown field of V1DeploymentSpec', 'd.spec.template.spec.containers[0].ports[0].containerPort: must be a number']);
  });

  it('has API servers, workers and serving processes; HTTP ones are ready on /readyz; serving runs with a 64 MB young generation; PDBs and an HPA for serving select them; pods run as non-root', () => {
    const deployments = docs.filter((d) => d.kind === 'Deployment');
    assert.deepEqual(deployments.map((d) => d.metadata.name).sort(), ['capstan-api', 'capstan-serving', 'capstan-worker']);
    for (const d of deployments) {
      const pod = d.spec.template.spec;
      assert.equal(pod.securityContext.runAsNonRoot, true);
      assert.deepEqual(d.spec.selector.matchLabels, Object.fromEntries(Object.entries(d.spec.template.metadata.labels).filter(([k]) => k in d.spec.selector.matchLabels)));
      const pdb = docs.find((x) => x.kind === 'PodDisruptionBudget' && x.metadata.name === d.metadata.name);
      assert.deepEqual(pdb?.spec.selector.matchLabels, d.spec.selector.matchLabels, `PDB of ${d.metadata.name}`);
      if (d.metadata.name !== 'capstan-worker') assert.equal(pod.containers[0].readinessProbe.httpGet.path, '/readyz');
    }
    const serving = deployments.find((d) => d.metadata.name === 'capstan-serving')!.spec.template.spec.containers[0];
    assert.deepEqual(serving.env.find((e: { name: string }) => e.name === 'NODE_OPTIONS'), { name: 'NODE_OPTIONS', value: '--max-semi-space-size=64' }, 'serving pods run with a larger young generation');
    const hpa = docs.find((d) => d.kind === 'HorizontalPodAutoscaler')!;
    assert.equal(hpa.spec.scaleTargetRef.name, 'capstan-serving');
    for (const svc of docs.filter((d) => d.kind === 'Service')) {
      assert.ok(deployments.some((d) => Object.entries(svc.spec.selector).every(([k, v]) => d.spec.template.metadata.labels[k] === v)), `Service ${svc.metadata.name} selects a Deployment`);
    }
  });

  it('the Dockerfile is multi-stage, ends non-root and keeps build tools out of the final stage', () => {
    const text = readFileSync('deploy/Dockerfile', 'utf8');
    const stages = text.split(/^FROM /m).slice(1);
    assert.ok(stages.length >= 2, 'multi-stage');
    const final = stages[stages.length - 1];
    assert.match(final, /^USER (?!root|0\b)\S+/m);
    assert.doesNotMatch(final, /apt-get|build-essential|npm (ci|install)|python3-dev|gcc|make\b/);
    assert.match(final, /COPY --from=build/);
  });
});
