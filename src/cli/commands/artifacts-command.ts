import path from 'node:path';
import type { Command } from 'commander';
import { assertVersionFilesWritable } from '../../registry/index.js';
import { ArtifactsClient } from '../../sdk/artifacts-client.js';
import { LocalArtifactsService, type ArtifactsService, type StoredArtifact } from '../../storage/artifacts/artifacts-service.js';
import { printResult, table, withService, type ServiceAccess } from '../cli-context.js';
import type { CommandModule } from './index.js';

const access: ServiceAccess<ArtifactsService> = {
  local: (platform) => new LocalArtifactsService(platform.artifacts, assertVersionFilesWritable),
  remote: (http) => new ArtifactsClient(http),
};

function row(a: StoredArtifact): Record<string, unknown> {
  return { key: a.key, size: a.size, modified: a.modifiedAt, sha256: a.sha256.slice(0, 12) };
}

/** `capstan artifacts put|ls|get`: files in and out of the artifact store, embedded or through `--url`. */
export const artifactsCommand: CommandModule = (program: Command) => {
  const artifacts = program.command('artifacts').description('upload, list and download objects of the artifact store');

  artifacts
    .command('put <file> <key>')
    .description('upload a local file to a key; a key ending in / gets the file name appended (datasets/interactions/ → datasets/interactions/<file>)')
    .option('--json', 'print JSON')
    .action(async (file: string, key: string, _opts, cmd: Command) => {
      const target = key.endsWith('/') ? key + path.basename(file) : key;
      const info = await withService(cmd, access, (s) => s.upload(file, target));
      printResult(cmd, info, () => `uploaded ${info.key} (${info.size} bytes, sha256 ${info.sha256.slice(0, 12)}…)\n${info.uri}`);
    });

  artifacts
    .command('ls [prefix]')
    .description('list the objects under a key prefix (all when omitted)')
    .option('--json', 'print JSON')
    .action(async (prefix: string | undefined, _opts, cmd: Command) => {
      const list = await withService(cmd, access, (s) => s.list(prefix ?? ''));
      printResult(cmd, { artifacts: list }, () => table(list.map(row)));
    });

  artifacts
    .command('get <key> [file]')
    .description('download an object to a local file (default: its base name in the current directory)')
    .option('--json', 'print JSON')
    .action(async (key: string, file: string | undefined, _opts, cmd: Command) => {
      const dest = file ?? path.basename(key);
      const info = await withService(cmd, access, (s) => s.download(key, dest));
      printResult(cmd, { ...info, path: path.resolve(dest) }, () => `downloaded ${info.key} to ${dest} (${info.size} bytes)`);
    });
};
