import path from 'node:path';
import type { Command } from 'commander';
import type { Repository, SyncRecord } from '../../gitops/index.js';
import { compileConfig } from '../../core/config.js';
import { CapstanError } from '../../core/errors.js';
import { HttpClient } from '../../sdk/http-client.js';
import { allOptions, printResult, table, withPlatform, withService } from '../cli-context.js';
import { gitopsAccess } from './apply-command.js';

function row(r: Repository) {
  return { name: r.name, branch: r.branch, path: r.path, status: r.status, commit: r.appliedCommit?.slice(0, 12) ?? '', reason: r.statusReason ?? '', url: r.url };
}

function renderSync(s: SyncRecord): string {
  const summary = Object.entries(s.summary)
    .filter(([, v]) => Array.isArray(v) && v.length)
    .map(([k, v]) => `${k}: ${(v as unknown[]).map((x) => (typeof x === 'object' && x ? (x as { pipeline: string }).pipeline : String(x))).join(', ')}`)
    .join('; ');
  return `sync ${s.id} ${s.state}${s.commit ? ` at ${s.commit.slice(0, 12)}` : ''}${s.reason ? `\n  reason: ${s.reason}` : ''}${summary ? `\n  ${summary}` : ''}`;
}

/** `capstan repos add|list|describe|sync|remove`: git repositories whose resources Capstan applies on each new commit. */
export function reposCommand(program: Command): void {
  const repos = program.command('repos').description('Git repositories: resources applied and pipelines run on each new commit');

  repos
    .command('add <name>')
    .description('Register a repository (synced by polling and by push webhooks); here --url names the repository, so reach a server with --server or CAPSTAN_URL')
    .option('--url <url>', 'git URL or a local path of the repository (required)')
    .option('--branch <branch>', 'branch to follow', 'main')
    .option('--path <dir>', 'directory of the resource files inside the repository', '.')
    .option('--server <url>', 'the Capstan server to register it on (default CAPSTAN_URL, else embedded)')
    .option('--json', 'print JSON')
    .action(async (name: string, _o, cmd: Command) => {
      const o = allOptions<{ url: string; branch: string; path: string; server?: string }>(cmd);
      if (!o.url) throw new CapstanError('CAPSTAN_GITOPS_REPOSITORY_INVALID', '--url <git URL or local path> is required', { fields: { field: 'url' } });
      // The program's own --url (the server) is taken by the repository here: the server comes from --server or the environment.
      const config = compileConfig({ flags: { ...(o.server ? { url: o.server } : {}), ...(o.apiKey ? { apiKey: o.apiKey } : {}) }, file: o.config });
      // A relative local path means this directory here; the embedded poller and `capstan up` may run elsewhere.
      const local = !/^[a-z][a-z0-9+.-]*:\/\//i.test(o.url) && !/^[^/]+@[^/]+:/.test(o.url);
      const url = local && !config.url ? path.resolve(o.url) : o.url;
      const input = { name, url, branch: o.branch, path: o.path };
      const r = config.url
        ? await gitopsAccess.remote(new HttpClient({ baseUrl: config.url, apiKey: config.apiKey })).addRepository(input)
        : await withPlatform(cmd, (platform) => gitopsAccess.local(platform).addRepository(input));
      printResult(cmd, r, () => `repository ${r.name} added (${r.url} ${r.branch}:${r.path})\npush webhook: POST ${r.webhookPath}\nwebhook secret (shown once): ${r.webhookSecret}`);
    });

  repos
    .command('list')
    .description('Repositories with their status and applied commit')
    .option('--json', 'print JSON')
    .action(async (_o, cmd: Command) => {
      const list = await withService(cmd, gitopsAccess, (svc) => svc.listRepositories());
      printResult(cmd, list, () => table(list.map(row)));
    });

  repos
    .command('describe <name>')
    .description('A repository, its status and recent syncs')
    .option('--json', 'print JSON')
    .action(async (name: string, _o, cmd: Command) => {
      const r = await withService(cmd, gitopsAccess, (svc) => svc.describeRepository(name));
      printResult(cmd, r, () => `${table([row(r)])}\npush webhook: POST ${r.webhookPath}\n${r.syncs.map(renderSync).join('\n')}`);
    });

  repos
    .command('sync <name>')
    .description('Fetch the branch now; apply and run what changed')
    .option('--json', 'print JSON')
    .action(async (name: string, _o, cmd: Command) => {
      const s = await withService(cmd, gitopsAccess, (svc) => svc.syncRepository(name));
      printResult(cmd, s, () => renderSync(s));
      if (s.state === 'failed' || s.state === 'unreachable') process.exitCode = 1;
    });

  repos
    .command('remove <name>')
    .description('Forget a repository (the resources it applied stay)')
    .option('--json', 'print JSON')
    .action(async (name: string, _o, cmd: Command) => {
      await withService(cmd, gitopsAccess, (svc) => svc.removeRepository(name));
      printResult(cmd, { removed: true, name }, () => `repository ${name} removed`);
    });
}
