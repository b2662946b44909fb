import type { Command } from 'commander';
import { CapstanError } from '../../core/errors.js';
import { readResourceFiles, toYaml, type ApplyReport, type GitopsService, type ResourceView } from '../../gitops/index.js';
import { GitopsClient } from '../../sdk/gitops-client.js';
import { allOptions, printResult, table, withService, type ServiceAccess } from '../cli-context.js';

/** How the CLI reaches the gitops service locally and over `--url`. */
export const gitopsAccess: ServiceAccess<GitopsService> = {
  local: (platform) => platform.context<GitopsService>('gitops'),
  remote: (http) => new GitopsClient(http),
};

const VERB: Record<string, [string, string]> = { create: ['will be created', 'created'], update: ['will be updated', 'updated'], unchanged: ['unchanged', 'unchanged'], delete: ['will be deleted', 'deleted'] };

/** The plan as `apply` prints it: one line per resource, with its diff under a dry run. */
export function renderReport(r: ApplyReport): string {
  const lines: string[] = [];
  for (const c of r.changes) {
    lines.push(`${c.kind}/${c.name} ${VERB[c.action][r.dryRun ? 0 : 1]}${c.file ? `  (${c.file})` : ''}`);
    if (r.dryRun && c.diff) lines.push(...c.diff.split('\n').map((l) => `    ${l}`));
  }
  for (const [res, secrets] of Object.entries(r.secrets)) for (const [k, v] of Object.entries(secrets)) lines.push(`${res} webhook ${k} secret (shown once): ${v}`);
  const n = (a: string) => r.changes.filter((c) => c.action === a).length;
  lines.push(
    r.dryRun
      ? `plan: ${n('create')} to create, ${n('update')} to update, ${n('delete')} to delete, ${n('unchanged')} unchanged (dry run: nothing changed)`
      : `applied: ${n('create')} created, ${n('update')} updated, ${n('delete')} deleted, ${n('unchanged')} unchanged`,
  );
  return lines.join('\n');
}

/** Resources as YAML documents `capstan apply` accepts, with their source as a comment. */
export function renderYaml(views: ResourceView[]): string {
  return views
    .map((v) => {
      const s = v.managed?.source;
      const origin = s ? `# source: ${[s.repository && `repository ${s.repository}`, s.commit && `commit ${s.commit}`, s.file && `file ${s.file}`].filter(Boolean).join(', ')}\n` : '';
      return `${origin}${toYaml(v.document)}`;
    })
    .join('---\n');
}

/** `capstan apply -f`, `capstan get <kind> [name]`, `capstan delete <kind> <name>`. */
export function applyCommand(program: Command): void {
  program
    .command('apply')
    .description('Create, update (and with --prune delete) resources from YAML files: Pipeline, ModelGroup, Endpoint, …')
    .requiredOption('-f, --file <file|dir>', 'a resource file, or a directory of *.yaml files')
    .option('--dry-run', 'print the plan as a diff per resource; change nothing')
    .option('--prune', 'delete resources of the managed set that the files no longer declare')
    .option('--set <name>', 'the managed set these resources belong to (what --prune works on)', 'default')
    .option('--json', 'print JSON')
    .action(async (_o, cmd: Command) => {
      const o = allOptions<{ file: string; dryRun?: boolean; prune?: boolean; set: string }>(cmd);
      const files = await readResourceFiles(o.file);
      if (files.length === 0) throw new CapstanError('CAPSTAN_GITOPS_INVALID', `${o.file} holds no *.yaml or *.yml files`, { fields: { path: o.file } });
      const report = await withService(cmd, gitopsAccess, (svc) => svc.apply({ files, dryRun: o.dryRun, prune: o.prune, set: o.set }));
      printResult(cmd, report, () => renderReport(report));
    });

  program
    .command('get <kind> [name]')
    .description('Show resources of a kind; -o yaml writes documents apply accepts')
    .option('-o, --output <format>', 'table, yaml or json', 'table')
    .option('--json', 'print JSON')
    .action(async (kind: string, name: string | undefined, _o, cmd: Command) => {
      const o = allOptions<{ output: string }>(cmd);
      if (!['table', 'yaml', 'json'].includes(o.output)) throw new CapstanError('CAPSTAN_REQUEST_INVALID', `-o must be table, yaml or json, not ${JSON.stringify(o.output)}`);
      const views = await withService(cmd, gitopsAccess, (svc) => svc.get(kind, name));
      if (o.output === 'yaml') {
        process.stdout.write(renderYaml(views));
        return;
      }
      if (o.output === 'json') {
        process.stdout.write(`${JSON.stringify(views, null, 2)}\n`);
        return;
      }
      printResult(cmd, views, () =>
        table(views.map((v) => ({ kind: v.kind, name: v.name, set: v.managed?.set ?? '', repository: v.managed?.source.repository ?? '', commit: v.managed?.source.commit?.slice(0, 12) ?? '', file: v.managed?.source.file ?? '' }))),
      );
    });

  program
    .command('delete <kind> <name>')
    .description('Delete one resource (a ModelGroup keeps its versions; its policy is cleared)')
    .option('--json', 'print JSON')
    .action(async (kind: string, name: string, _o, cmd: Command) => {
      await withService(cmd, gitopsAccess, (svc) => svc.delete(kind, name));
      printResult(cmd, { deleted: true, kind, name }, () => `${kind} ${name} deleted`);
    });
}
