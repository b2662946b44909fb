import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CapstanError } from '../../core/errors.js';
import { parseUserYaml } from '../../core/user-yaml.js';
import type { FeatureDefinitionsInput, FeatureService, IngestSource } from '../../features/index.js';
import { FeaturesClient } from '../../sdk/features-client.js';
import { allOptions, integerOption, printResult, table, withService, type ServiceAccess } from '../cli-context.js';
import type { CommandModule } from './index.js';

const access: ServiceAccess<FeatureService> = {
  local: (platform) => platform.context<FeatureService>('features'),
  remote: (http) => new FeaturesClient(http),
};

/** A `--file` value: a URI (`file://…`, `s3://…`) inside the artifact store, or a local path. */
function sourceOf(file: string, format?: string): IngestSource {
  const f = format === undefined ? {} : { format: format as 'csv' | 'parquet' };
  return /^[a-z][a-z0-9+.-]*:\/\//.test(file) ? { uri: file, ...f } : { path: file, ...f };
}

/** Reads features.yaml within the user-YAML limits; a syntax error is CAPSTAN_FEATURES_DEFINITION_INVALID. */
function readDefinitions(file: string): FeatureDefinitionsInput {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CapstanError('CAPSTAN_FEATURES_DEFINITION_INVALID', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { cause: err, retryable: false });
  }
  try {
    return parseUserYaml(text, file) as FeatureDefinitionsInput;
  } catch (err) {
    if (err instanceof CapstanError) throw err;
    throw new CapstanError('CAPSTAN_FEATURES_DEFINITION_INVALID', `${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`, { cause: err, retryable: false });
  }
}

/** `k=v,k2=v2` to a join-key object. */
function entityOf(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new CapstanError('CAPSTAN_REQUEST_INVALID', `--entity ${JSON.stringify(text)} is not of the form key=value[,key=value]`);
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];
const list = (value: string) => value.split(',').map((s) => s.trim()).filter(Boolean);

/** `capstan features apply|list|ingest|materialize|training-set|get`: the feature store, embedded or through `--url`. */
export const featuresCommand: CommandModule = (program: Command) => {
  const group = program.command('features').description('feature store: definitions, ingestion, point-in-time training sets, online values');

  group
    .command('apply')
    .description('create or update entities and feature groups from a features.yaml')
    .requiredOption('-f, --file <file>', 'features.yaml')
    .option('--json', 'print JSON')
    .action(async (_opts, cmd: Command) => {
      const { file } = allOptions<{ file: string }>(cmd);
      const defs = readDefinitions(file);
      const res = await withService(cmd, access, (s) => s.apply(defs));
      printResult(cmd, res, () => [...res.entities.map((e) => `entity ${e.name}: ${e.action}`), ...res.featureGroups.map((g) => `feature group ${g.name}@${g.version}: ${g.action}`)].join('\n') || 'nothing to apply');
    });

  group
    .command('list')
    .description('list feature group versions')
    .option('--json', 'print JSON')
    .action(async (_opts, cmd: Command) => {
      const groups = await withService(cmd, access, (s) => s.listGroups());
      printResult(cmd, groups, () => table(groups.map((g) => ({ group: g.name, version: g.version, keys: g.joinKeys.map((k) => k.name).join(','), features: g.features.length, ttl: g.ttlMs === null ? '-' : `${g.ttlMs / 1000}s`, owner: g.owner ?? '-' }))));
    });

  group
    .command('ingest <group>')
    .description('ingest a CSV or Parquet file (local path or artifact store URI); re-ingesting the same file changes nothing')
    .requiredOption('--file <file>', 'local path, or file://… / s3://… inside the artifact store')
    .option('--format <format>', 'csv | parquet (default: from the extension)')
    .option('--group-version <n>', 'group version (default latest)', integerOption('--group-version', 1, 1e9))
    .option('--json', 'print JSON')
    .action(async (name: string, _opts, cmd: Command) => {
      const o = allOptions<{ file: string; format?: string; groupVersion?: number }>(cmd);
      const res = await withService(cmd, access, (s) => s.ingest(name, sourceOf(o.file, o.format), { version: o.groupVersion }));
      printResult(cmd, res, () => `${res.group}@${res.version}: read ${res.rowsRead}, wrote ${res.rowsWritten}, unchanged ${res.rowsUnchanged}, duplicates collapsed ${res.duplicatesCollapsed}, future event times ${res.futureEventTimes}`);
    });

  group
    .command('materialize <group>')
    .description('copy rows ingested since the last run to the online store (idempotent)')
    .option('--group-version <n>', 'group version (default latest)', integerOption('--group-version', 1, 1e9))
    .option('--json', 'print JSON')
    .action(async (name: string, _opts, cmd: Command) => {
      const o = allOptions<{ groupVersion?: number }>(cmd);
      const res = await withService(cmd, access, (s) => s.materialize(name, { version: o.groupVersion }));
      printResult(cmd, res, () => `${res.group}@${res.version}: read ${res.rowsRead}, wrote ${res.rowsWritten} online values; newest event time ${res.newestEventTime ?? '-'}`);
    });

  group
    .command('training-set')
    .description('build a point-in-time training set into the artifact store')
    .requiredOption('--entities <file>', 'entity table (join keys + event_timestamp), CSV or Parquet: local path or artifact store URI')
    .requiredOption('--features <refs>', 'comma-separated group:feature or group@2:feature', list)
    .requiredOption('--out <uri>', 'output URI inside the artifact store (or a key); .parquet (default) or .csv')
    .option('--timestamp-column <name>', 'timestamp column of the entity table (default event_timestamp)')
    .option('--no-as-of-known-time', 'ignore created time: take values by event time only')
    .option('--json', 'print JSON')
    .action(async (_opts, cmd: Command) => {
      const o = allOptions<{ entities: string; features: string[]; out: string; timestampColumn?: string; asOfKnownTime: boolean }>(cmd);
      const out = /^[a-z][a-z0-9+.-]*:\/\//.test(o.out) ? { uri: o.out } : { key: o.out };
      const res = await withService(cmd, access, (s) =>
        s.trainingSet({ entities: sourceOf(o.entities), features: o.features, out, asOfKnownTime: o.asOfKnownTime, ...(o.timestampColumn ? { timestampColumn: o.timestampColumn } : {}) }),
      );
      printResult(cmd, res, () => [`${res.rows} rows → ${res.uri}`, `digest ${res.digest}`, table(res.features.map((f) => ({ feature: f.feature, column: f.column, nulls: f.nulls, expired: f.expired }))), res.futureTimestamps ? `${res.futureTimestamps} entity timestamps are in the future` : ''].filter(Boolean).join('\n'));
    });

  group
    .command('get')
    .description('read online feature values (status PRESENT, EXPIRED or NOT_FOUND with the training-set TTL rule)')
    .requiredOption('--features <refs>', 'comma-separated group:feature', list)
    .requiredOption('--entity <k=v>', 'join keys of one entity (k=v[,k2=v2]); repeat for more entities', collect)
    .option('--at <time>', 'ISO time to evaluate the TTL at (default now)')
    .option('--json', 'print JSON')
    .action(async (_opts, cmd: Command) => {
      const o = allOptions<{ features: string[]; entity: string[]; at?: string }>(cmd);
      const res = await withService(cmd, access, (s) => s.readOnline({ features: o.features, entities: o.entity.map(entityOf), ...(o.at ? { at: o.at } : {}) }));
      printResult(cmd, res, () => table(res.results.flatMap((r) => res.features.map((f) => ({ entity: JSON.stringify(r.entity), feature: f, value: r.values[f].value, status: r.values[f].status, eventTime: r.values[f].eventTime ?? '-' })))));
    });
};
