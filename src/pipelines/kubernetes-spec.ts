import type { KubernetesStepSpec } from './definition.js';
import { parseDuration } from './duration.js';

type P = (string | number)[];
type Obj = Record<string, unknown>;

/** The part of the definition checker the Kubernetes block needs. */
export interface SpecChecker {
  issue(at: P, message: string): void;
  obj(v: unknown, at: P, required?: boolean): Obj | undefined;
  unknownKeys(o: Obj, allowed: string[], at: P): void;
}

const KEYS = ['image', 'resources', 'secret_env', 'node_selector', 'tolerations', 'service_account', 'active_deadline'];
const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$/;
const SECRET_REF = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/[-._a-zA-Z0-9]+$/;

function strMap(c: SpecChecker, v: unknown, at: P): Record<string, string> | undefined {
  const o = c.obj(v, at);
  if (!o) return undefined;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(o)) {
    if (typeof x !== 'string') c.issue([...at, k], 'must be a string');
    else out[k] = x;
  }
  return out;
}

/** Checks a `kubernetes:` block (of a step or of the pipeline's `defaults`) and turns it into a spec. */
export function compileKubernetesSpec(c: SpecChecker, raw: unknown, at: P): KubernetesStepSpec | undefined {
  const o = c.obj(raw, at);
  if (!o) return undefined;
  c.unknownKeys(o, KEYS, at);
  const spec: KubernetesStepSpec = {};
  if (o.image !== undefined) {
    if (typeof o.image !== 'string' || !o.image.trim()) c.issue([...at, 'image'], 'must be a container image reference');
    else spec.image = o.image;
  }
  const r = c.obj(o.resources, [...at, 'resources']);
  if (r) {
    c.unknownKeys(r, ['cpu', 'memory', 'gpu'], [...at, 'resources']);
    spec.resources = {};
    for (const k of ['cpu', 'memory'] as const) {
      if (r[k] === undefined) continue;
      const q = String(r[k]);
      if (!QUANTITY.test(q)) c.issue([...at, 'resources', k], 'must be a Kubernetes quantity such as 500m, 2 or 8Gi');
      else spec.resources[k] = q;
    }
    if (r.gpu !== undefined) {
      if (!Number.isInteger(r.gpu) || (r.gpu as number) < 1) c.issue([...at, 'resources', 'gpu'], 'must be a whole number of GPUs (nvidia.com/gpu)');
      else spec.resources.gpu = r.gpu as number;
    }
  }
  const secrets = strMap(c, o.secret_env, [...at, 'secret_env']);
  if (secrets) {
    for (const [k, v] of Object.entries(secrets)) if (!SECRET_REF.test(v)) c.issue([...at, 'secret_env', k], 'must be secret-name/key');
    spec.secretEnv = secrets;
  }
  spec.nodeSelector = strMap(c, o.node_selector, [...at, 'node_selector']);
  if (o.tolerations !== undefined) {
    if (!Array.isArray(o.tolerations)) c.issue([...at, 'tolerations'], 'must be a list of {key, operator, value, effect}');
    else {
      spec.tolerations = [];
      for (const [i, t] of o.tolerations.entries()) {
        const m = strMap(c, t, [...at, 'tolerations', i]);
        if (!m) continue;
        c.unknownKeys(m, ['key', 'operator', 'value', 'effect'], [...at, 'tolerations', i]);
        spec.tolerations.push(m);
      }
    }
  }
  if (o.service_account !== undefined) {
    if (typeof o.service_account !== 'string' || !o.service_account) c.issue([...at, 'service_account'], 'must be a service account name');
    else spec.serviceAccount = o.service_account;
  }
  if (o.active_deadline !== undefined) {
    const ms = parseDuration(o.active_deadline);
    if (!ms || ms < 1000) c.issue([...at, 'active_deadline'], 'must be a duration of at least 1s such as 30m');
    else spec.activeDeadlineSeconds = Math.ceil(ms / 1000);
  }
  if (!spec.nodeSelector) delete spec.nodeSelector;
  return spec;
}

/** A step's spec: the pipeline's defaults overlaid by the step's own block (resources merged key by key). */
export function mergeKubernetesSpec(defaults: KubernetesStepSpec | undefined, own: KubernetesStepSpec | undefined): KubernetesStepSpec | undefined {
  if (!defaults && !own) return undefined;
  const merged: KubernetesStepSpec = { ...defaults, ...own };
  if (defaults?.resources || own?.resources) merged.resources = { ...defaults?.resources, ...own?.resources };
  return merged;
}
