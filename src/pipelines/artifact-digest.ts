import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CapstanError } from '../core/errors.js';
import type { ArtifactInfo, ArtifactStore } from '../storage/artifacts/artifact-store.js';
import { compareKeys } from '../storage/artifacts/local-tree.js';

/**
 * The content digest of a set of stored objects under a prefix: sha256 over `<hex sha256>  <path>\n`
 * per object, ordered by path — the registry's package digest format, so a training output and the
 * model version registered from it show the same digest.
 */
export function digestOf(infos: readonly ArtifactInfo[], prefix: string): string {
  const base = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
  const files = infos.map((i) => ({ path: i.key.startsWith(base) ? i.key.slice(base.length) : i.key, sha256: i.sha256 }));
  files.sort((a, b) => compareKeys(a.path, b.path));
  const hash = createHash('sha256');
  for (const f of files) hash.update(`${f.sha256}  ${f.path}\n`);
  return `sha256:${hash.digest('hex')}`;
}

/** A store key from a step input value: a store URI or a bare key. */
export function inputKey(store: ArtifactStore, value: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? store.keyFor(value) : value.replace(/^\/+/, '');
}

/** What an input names: one object, or every object under a prefix. */
export interface ResolvedInput {
  key: string;
  kind: 'object' | 'prefix';
  objects: ArtifactInfo[];
  digest: string;
}

/** Looks an input up in the store; CAPSTAN_PIPELINE_INPUT_NOT_FOUND when nothing is there. */
export async function resolveInput(store: ArtifactStore, channel: string, value: string): Promise<ResolvedInput> {
  const key = inputKey(store, value);
  const obj = key && !key.endsWith('/') ? await store.stat(key) : undefined;
  if (obj) return { key, kind: 'object', objects: [obj], digest: `sha256:${obj.sha256}` };
  const prefix = key.endsWith('/') || key === '' ? key : `${key}/`;
  const objects = await store.list(prefix);
  if (objects.length === 0) {
    throw new CapstanError('CAPSTAN_PIPELINE_INPUT_NOT_FOUND', `input "${channel}": nothing stored at ${JSON.stringify(value)}`, { fields: { channel } });
  }
  return { key: prefix, kind: 'prefix', objects, digest: digestOf(objects, prefix) };
}

/**
 * Downloads an input into `target` (created): an object as `target/<its base name>`, a prefix as the
 * tree below it. The same layout for command steps (`CAPSTAN_INPUT_DIR/<channel>/`) and function steps.
 */
export async function downloadInput(store: ArtifactStore, channel: string, value: string, target: string): Promise<ResolvedInput> {
  const input = await resolveInput(store, channel, value);
  await mkdir(target, { recursive: true });
  if (input.kind === 'object') await writeFile(path.join(target, path.posix.basename(input.key)), await store.get(input.key));
  else await store.downloadDirectory(input.key, target);
  return input;
}
