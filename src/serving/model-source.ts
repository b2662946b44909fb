import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CapstanError, isCapstanError } from '../core/errors.js';
import { packageDigest } from '../registry/index.js';
import type { ApprovalStatus, RegistryService } from '../registry/index.js';
import type { ArtifactStore } from '../storage/artifacts/artifact-store.js';
import type { ResolvedModel } from './endpoint.js';
import { packagePath } from '../core/model-manifest.js';

/**
 * Where serving gets models: resolves a reference (`models:/ncf@champion`) to one registered version
 * and puts its package in a local directory, downloaded once per process host and verified by digest.
 */
export interface ModelSource {
  /** Pins a reference to a version; CAPSTAN_SERVING_MODEL_REF_UNRESOLVED when it names nothing. */
  resolve(ref: string): Promise<ResolvedModel>;
  /** The version's approval status as the registry has it now (the serving gate asks). */
  approval(model: { name: string; version: number }): Promise<ApprovalStatus>;
  /** The local directory holding the version's unpacked package. */
  localPackage(model: ResolvedModel): Promise<string>;
}

const COMPLETE_MARKER = '.capstan-complete';

/**
 * Fetches a version's files into `dir`, checking each file's sha256 and the package digest the
 * registry recorded, so a tampered or truncated package never reaches a worker.
 */
async function download(registry: RegistryService, artifacts: ArtifactStore, model: ResolvedModel, dir: string): Promise<void> {
  const files = await registry.listVersionFiles(model.name, model.version);
  for (const f of files) {
    const body = await artifacts.get(f.key);
    const sha = createHash('sha256').update(body).digest('hex');
    if (sha !== f.sha256) {
      throw new CapstanError('CAPSTAN_ARTIFACT_DIGEST_MISMATCH', `model ${model.name} version ${model.version}: ${f.path} does not match its recorded digest`, { fields: { modelName: model.name, version: model.version } });
    }
    const target = packagePath(dir, f.path);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, body);
  }
  const actual = packageDigest(files.map((f) => ({ path: f.path, sha256: f.sha256 })));
  if (actual !== model.digest) {
    throw new CapstanError('CAPSTAN_ARTIFACT_DIGEST_MISMATCH', `model ${model.name} version ${model.version}: the package digest is ${actual}, the registry recorded ${model.digest}`, { fields: { modelName: model.name, version: model.version } });
  }
}

/**
 * A ModelSource over the model registry, caching packages under `cacheDir/<name>/<version>-<digest>`.
 * A package is downloaded into a staging directory and renamed into place, so a crash mid-download never
 * leaves a half-written package that a later start would trust.
 */
export function registryModelSource(registry: () => RegistryService, artifacts: ArtifactStore, cacheDir: string): ModelSource {
  const inflight = new Map<string, Promise<string>>();
  return {
    async resolve(ref) {
      const text = ref.startsWith('models:/') ? ref : `models:/${ref}`;
      try {
        const v = await registry().resolve(text);
        return { name: v.name, version: v.version, digest: v.digest, framework: v.framework };
      } catch (err) {
        if (isCapstanError(err) && err.status < 500) {
          throw new CapstanError('CAPSTAN_SERVING_MODEL_REF_UNRESOLVED', `model ${ref} does not resolve: ${err.message}`, { cause: err, fields: { model: ref } });
        }
        throw err;
      }
    },
    async approval(model) {
      return (await registry().getVersion(model.name, model.version)).approval;
    },
    localPackage(model) {
      const key = `${model.name}/${model.version}-${model.digest.replace(/^sha256:/, '').slice(0, 16)}`;
      const dir = path.join(cacheDir, key);
      if (existsSync(path.join(dir, COMPLETE_MARKER))) return Promise.resolve(dir);
      let pending = inflight.get(key);
      if (!pending) {
        pending = (async () => {
          const staging = `${dir}.staging-${process.pid}-${Date.now()}`;
          mkdirSync(path.dirname(dir), { recursive: true });
          try {
            await download(registry(), artifacts, model, staging);
            writeFileSync(path.join(staging, COMPLETE_MARKER), model.digest);
            rmSync(dir, { recursive: true, force: true });
            renameSync(staging, dir);
          } catch (err) {
            rmSync(staging, { recursive: true, force: true });
            throw err;
          }
          return dir;
        })().finally(() => inflight.delete(key));
        inflight.set(key, pending);
      }
      return pending;
    },
  };
}
