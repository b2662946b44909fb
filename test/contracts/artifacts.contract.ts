import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { ArtifactsService } from '../../src/storage/artifacts/artifacts-service.js';
import { rejectsWithCode, type MakeTarget } from './contract-target.js';

/** The artifacts contract: what `capstan artifacts` relies on, embedded or through `--url`. */
export function describeArtifactsContract(name: string, target: MakeTarget<ArtifactsService>): void {
  describe(`artifacts contract (${name})`, () => {
    it('uploads a file, lists it under its prefix with size and digest, and downloads the same bytes', async () => {
      const { service, scratch, name: n } = target();
      const source = path.join(scratch, n('upload.txt'));
      const content = `hello from ${n('artifacts')}\n`;
      writeFileSync(source, content);
      const prefix = `contracts/${n('files')}`;
      const stored = await service.upload(source, `${prefix}/data set/a.txt`);
      const sha256 = createHash('sha256').update(content).digest('hex');
      assert.equal(stored.key, `${prefix}/data set/a.txt`);
      assert.equal(stored.size, Buffer.byteLength(content));
      assert.equal(stored.sha256, sha256);
      assert.ok(stored.uri.endsWith(`${prefix}/data set/a.txt`), stored.uri);
      const listed = await service.list(prefix);
      assert.deepEqual(listed.map((a) => [a.key, a.size, a.sha256, a.uri]), [[stored.key, stored.size, sha256, stored.uri]]);
      const dest = path.join(scratch, n('download.txt'));
      const info = await service.download(`${prefix}/data set/a.txt`, dest);
      assert.equal(readFileSync(dest, 'utf8'), content);
      assert.equal(info.sha256, sha256);
      assert.equal(info.size, stored.size);
    });

    it('answers CAPSTAN_ARTIFACT_NOT_FOUND for a missing key and writes no local file', async () => {
      const { service, scratch, name: n } = target();
      const dest = path.join(scratch, n('missing-download'));
      await rejectsWithCode(service.download(`contracts/${n('absent')}/nothing.bin`, dest), 'CAPSTAN_ARTIFACT_NOT_FOUND');
      assert.equal(existsSync(dest), false);
      assert.deepEqual(readdirSync(scratch).filter((f) => f.startsWith(n('missing-download'))), [], 'no partial file either');
    });

    it('refuses an unsafe key, a missing local file and a registered version\'s package prefix, storing nothing', async () => {
      const { service, scratch, name: n } = target();
      const source = path.join(scratch, n('refused.txt'));
      writeFileSync(source, 'x');
      const prefix = `contracts/${n('refused')}`;
      await rejectsWithCode(service.upload(source, `${prefix}/../../escape.txt`), 'CAPSTAN_ARTIFACT_UNSAFE_PATH');
      await rejectsWithCode(service.upload(path.join(scratch, n('no-such-file')), `${prefix}/a.txt`), 'CAPSTAN_ARTIFACT_LOCAL_FILE_INVALID');
      await rejectsWithCode(service.upload(source, `models/${n('model')}/1/model.onnx`), 'CAPSTAN_REGISTRY_VERSION_IMMUTABLE');
      assert.deepEqual(await service.list(prefix), []);
      assert.deepEqual(await service.list(`models/${n('model')}`), []);
    });
  });
}
