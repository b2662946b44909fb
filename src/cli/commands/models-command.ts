import path from 'node:path';
import type { Command } from 'commander';
import { CapstanError } from '../../core/errors.js';
import { compileApprovalPolicy } from '../../registry/index.js';
import { isBareModelName, parseModelRef } from '../../registry/index.js';
import type { AuditEvent, ModelGroup, ModelVersion, RegistryService } from '../../registry/index.js';
import { RegistryClient } from '../../sdk/registry-client.js';
import { allOptions, keyValues, printResult, table, withService, type ServiceAccess } from '../cli-context.js';
import { comparisonText } from '../comparison-text.js';
import type { CommandModule } from './index.js';

/** The registry, embedded or through `--url` (shared with `capstan runs`). */
export const registryAccess: ServiceAccess<RegistryService> = {
  local: (platform) => platform.registry,
  remote: (http) => new RegistryClient(http),
};
const access = registryAccess;

/** Collects repeated `--metric k=v` style options into a map. */
function keyValue(kind: string) {
  return (value: string, previous: Record<string, string> = {}): Record<string, string> => {
    const eq = value.indexOf('=');
    if (eq <= 0) throw new CapstanError('CAPSTAN_REQUEST_INVALID', `--${kind} takes key=value, got ${JSON.stringify(value)}`);
    return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
  };
}

function numbers(raw: Record<string, string> | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(raw ?? {})) {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new CapstanError('CAPSTAN_REGISTRY_METRIC_INVALID', `--metric ${k} must be a number, got ${JSON.stringify(v)}`);
    out[k] = n;
  }
  return out;
}

/** Parses a comma-separated option value (`hr@10,ndcg@10`). */
export const list = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

function versionNumber(v: string): number {
  if (!/^[1-9]\d*$/.test(v)) throw new CapstanError('CAPSTAN_REQUEST_INVALID', `a version is a positive integer, got ${JSON.stringify(v)}`);
  return Number(v);
}

function versionLine(v: ModelVersion): Record<string, unknown> {
  return { version: v.version, approval: v.approval, aliases: v.aliases.join(','), framework: v.framework, metrics: keyValues(v.metrics), createdBy: v.createdBy, createdAt: v.createdAt };
}

function showVersion(v: ModelVersion): string {
  const rows: [string, unknown][] = [
    ['model', v.name], ['version', v.version], ['approval', v.approval], ['aliases', v.aliases.join(', ') || '-'],
    ['framework', v.framework], ['artifact', v.artifactUri], ['digest', v.digest], ['metrics', keyValues(v.metrics)],
    ['params', keyValues(v.params)], ['tags', keyValues(v.tags)], ['lineage', keyValues(v.lineage as Record<string, unknown>)],
    ['description', v.description], ['created', `${v.createdAt} by ${v.createdBy}`],
  ];
  return rows.map(([k, val]) => `${`${k}:`.padEnd(13)}${val}`).join('\n');
}

function showGroup(g: ModelGroup): string {
  return [
    `model:       ${g.name}`,
    `versions:    ${g.latestVersion}`,
    `aliases:     ${keyValues(g.aliases) || '-'}`,
    `policy:      ${g.approvalPolicy ? `auto-approve when ${g.approvalPolicy.autoApprove}` : '-'}`,
    `description: ${g.description}`,
    `created:     ${g.createdAt}`,
  ].join('\n');
}

function historyText(events: AuditEvent[]): string {
  return table(events.map((e) => ({ at: e.at, version: e.version ?? '', action: e.action, actor: e.actor, change: `${e.from ?? ''} -> ${e.to ?? ''}`.trim(), alias: e.alias ?? '', comment: e.comment })));
}

/** `capstan models …`: the model registry, embedded or through `--url`. */
export const modelsCommand: CommandModule = (program: Command) => {
  const models = program.command('models').description('model registry: versions, approval, aliases, history, comparison, download');

  models
    .command('list')
    .description('list model groups')
    .option('--json', 'print JSON')
    .action(async (_o, cmd: Command) => {
      const groups = await withService(cmd, access, (s) => s.listModels());
      printResult(cmd, groups, () => table(groups.map((g) => ({ name: g.name, versions: g.latestVersion, aliases: keyValues(g.aliases), updated: g.updatedAt }))));
    });

  models
    .command('create <name>')
    .description('create a model group before its first version, with its description and auto-approval policy')
    .option('--description <text>', 'what the model is for')
    .option('--auto-approve <condition>', 'approve each new version when this CEL condition holds, e.g. \'metrics["auc"] >= 0.9\'')
    .option('--json', 'print JSON')
    .action(async (name: string, _o, cmd: Command) => {
      const o = allOptions<{ description?: string; autoApprove?: string }>(cmd);
      // Checked before the group exists, so a bad condition creates nothing.
      const policy = o.autoApprove === undefined ? undefined : compileApprovalPolicy({ autoApprove: o.autoApprove });
      const g = await withService(cmd, access, async (s) => {
        const created = await s.createModel(name, { description: o.description });
        return policy ? s.setApprovalPolicy(name, policy) : created;
      });
      printResult(cmd, g, () => showGroup(g));
    });

  models
    .command('show <ref>')
    .description('show a model (ncf) or a version (ncf/3, ncf@champion, models:/ncf@champion)')
    .option('--json', 'print JSON')
    .action(async (ref: string, _o, cmd: Command) => {
      if (isBareModelName(ref)) {
        const g = await withService(cmd, access, (s) => s.getModel(ref.replace(/^models:\//, '')));
        printResult(cmd, g, () => showGroup(g));
      } else {
        const v = await withService(cmd, access, (s) => s.resolve(ref));
        printResult(cmd, v, () => showVersion(v));
      }
    });

  models
    .command('versions <name>')
    .description('list the versions of a model, oldest first')
    .option('--approval <status>', 'only PendingManualApproval, Approved or Rejected')
    .option('--json', 'print JSON')
    .action(async (name: string, _o, cmd: Command) => {
      const o = allOptions<{ approval?: ModelVersion['approval'] }>(cmd);
      const versions = await withService(cmd, access, (s) => s.listVersions(name, { approval: o.approval }));
      printResult(cmd, versions, () => table(versions.map(versionLine)));
    });

  models
    .command('register <name>')
    .description('register the next version from a model package (a directory with model.json, or an artifact URI in the store)')
    .requiredOption('--artifact <dir-or-uri>', 'local package directory, or file://… / s3://… inside the artifact store')
    .option('--metric <key=value>', 'a metric (repeatable)', keyValue('metric'))
    .option('--param <key=value>', 'a param (repeatable)', keyValue('param'))
    .option('--tag <key=value>', 'a tag (repeatable)', keyValue('tag'))
    .option('--description <text>', 'what changed in this version')
    .option('--run <id>', 'the run that produced it (its metrics, params and pipeline link are copied)')
    .option('--code-digest <digest>', 'digest or commit of the training code')
    .option('--json', 'print JSON')
    .action(async (name: string, _o, cmd: Command) => {
      const o = allOptions<{ artifact: string; metric?: Record<string, string>; param?: Record<string, string>; tag?: Record<string, string>; description?: string; run?: string; codeDigest?: string }>(cmd);
      const source = /^(file|s3):\/\//.test(o.artifact) ? { artifactUri: o.artifact } : { packageDir: path.resolve(o.artifact) };
      const lineage = { ...(o.run ? { runId: o.run } : {}), ...(o.codeDigest ? { codeDigest: o.codeDigest } : {}) };
      const v = await withService(cmd, access, (s) =>
        s.registerVersion(name, { ...source, metrics: numbers(o.metric), params: o.param, tags: o.tag, description: o.description, lineage }),
      );
      printResult(cmd, v, () => `registered ${v.name} version ${v.version} (${v.approval}, ${v.digest})`);
    });

  for (const [verb, status] of [['approve', 'Approved'], ['reject', 'Rejected'], ['reset', 'PendingManualApproval']] as const) {
    models
      .command(`${verb} <name> <version>`)
      .description(verb === 'reset' ? 'return a version to PendingManualApproval' : `${verb} a version (recorded in the history)`)
      .option('--comment <text>', 'why')
      .option('--json', 'print JSON')
      .action(async (name: string, version: string, _o, cmd: Command) => {
        const o = allOptions<{ comment?: string }>(cmd);
        const v = await withService(cmd, access, (s) => s.setApproval(name, versionNumber(version), { status, comment: o.comment }));
        printResult(cmd, v, () => `${v.name} version ${v.version} is now ${v.approval}`);
      });
  }

  models
    .command('alias <name> <alias> [version]')
    .description('point an alias (champion, challenger) at a version, or remove it with --delete')
    .option('--delete', 'remove the alias')
    .option('--json', 'print JSON')
    .action(async (name: string, alias: string, version: string | undefined, _o, cmd: Command) => {
      const o = allOptions<{ delete?: boolean }>(cmd);
      if (!o.delete && version === undefined) throw new CapstanError('CAPSTAN_REQUEST_INVALID', 'give the version the alias should point to, or --delete');
      const g = await withService(cmd, access, (s) => (o.delete ? s.deleteAlias(name, alias) : s.setAlias(name, alias, versionNumber(version!))));
      printResult(cmd, g, () => (o.delete ? `removed alias ${alias} of ${name}` : `${name}@${alias} -> version ${g.aliases[alias]}`));
    });

  models
    .command('history <ref>')
    .description('audit history of a model (ncf) or one version (ncf/2): approvals, aliases, policy')
    .option('--json', 'print JSON')
    .action(async (ref: string, _o, cmd: Command) => {
      const events = await withService(cmd, access, async (s) => {
        if (isBareModelName(ref)) return s.history(ref.replace(/^models:\//, ''));
        const parsed = parseModelRef(ref);
        const version = parsed.kind === 'version' ? parsed.version : (await s.resolve(ref)).version;
        return s.history(parsed.name, { version });
      });
      printResult(cmd, events, () => historyText(events));
    });

  models
    .command('compare <name>')
    .description('compare metrics and params across versions (a table, and bars on a terminal)')
    .option('--versions <list>', 'comma-separated versions; default all', list)
    .option('--metrics <list>', 'comma-separated metrics, e.g. hr@10,ndcg@10; default all', list)
    .option('--params <list>', 'comma-separated params; default all', list)
    .option('--json', 'print JSON')
    .action(async (name: string, _o, cmd: Command) => {
      const o = allOptions<{ versions?: string[]; metrics?: string[]; params?: string[] }>(cmd);
      const c = await withService(cmd, access, (s) => s.compareVersions(name, { versions: o.versions?.map(versionNumber), metrics: o.metrics, params: o.params }));
      printResult(cmd, c, () => comparisonText(c, Boolean(process.stdout.isTTY), o.params !== undefined));
    });

  models
    .command('pull <ref> <dir>')
    .description('download a version package (ncf@champion, ncf/3) into an empty directory and verify its digest')
    .option('--json', 'print JSON')
    .action(async (ref: string, dir: string, _o, cmd: Command) => {
      const r = await withService(cmd, access, (s) => s.pullVersion(ref, path.resolve(dir)));
      printResult(cmd, r, () => `pulled ${r.name} version ${r.version} into ${dir} (${r.files.length} files, digest verified ${r.digest})`);
    });

  models
    .command('policy <name>')
    .description('set the auto-approval policy (a CEL condition over metrics, params, tags) or clear it')
    .option('--auto-approve <condition>', 'e.g. \'metrics["hr@10"] >= 0.6\'')
    .option('--clear', 'remove the policy')
    .option('--json', 'print JSON')
    .action(async (name: string, _o, cmd: Command) => {
      const o = allOptions<{ autoApprove?: string; clear?: boolean }>(cmd);
      if (!o.clear && !o.autoApprove) throw new CapstanError('CAPSTAN_REQUEST_INVALID', 'give --auto-approve <condition> or --clear');
      const g = await withService(cmd, access, (s) => s.setApprovalPolicy(name, o.clear ? null : { autoApprove: o.autoApprove! }));
      printResult(cmd, g, () => showGroup(g));
    });
};
