import { spawn } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { CapstanError } from '../core/errors.js';

/** What a git command printed. */
interface GitResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

function git(args: string[], options: { timeoutMs: number; cwd?: string; stdoutTo?: NodeJS.WritableStream }): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    // No prompts (a private URL without credentials fails instead of hanging), no ext:: or fd:: transports, no system/user config.
    const env = { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_ASKPASS: 'true', LANG: 'C' };
    const child = spawn('git', ['-c', 'protocol.ext.allow=never', '-c', 'protocol.fd.allow=never', ...args], { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    if (options.stdoutTo) child.stdout.pipe(options.stdoutTo);
    else child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr: code === null ? `${stderr}\n(timed out after ${options.timeoutMs} ms)` : stderr });
    });
  });
}

/** The last meaningful line git wrote to stderr, for a status reason. */
function gitReason(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  return (lines.find((l) => l.startsWith('fatal:')) ?? lines.at(-1) ?? 'git failed').replace(/^fatal:\s*/, '');
}

/**
 * A bare mirror of one branch of a repository, kept in the Capstan home, fetched with the git CLI.
 * Checkouts are exported (`git archive`) into a fresh directory, so nothing a sync leaves behind is
 * ever read by the next one.
 */
export class GitMirror {
  constructor(
    private readonly dir: string,
    private readonly timeoutMs: number,
  ) {}

  private async ensure(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const r = await git(['init', '--quiet', '--bare', this.dir], { timeoutMs: this.timeoutMs });
    if (r.code !== 0) throw new CapstanError('CAPSTAN_GITOPS_REPOSITORY_UNREACHABLE', `cannot create the local mirror: ${gitReason(r.stderr)}`);
  }

  /** Fetches `branch` from `url` and answers its head commit; CAPSTAN_GITOPS_REPOSITORY_UNREACHABLE with git's reason (naming the URL as `shown`) otherwise. */
  async fetch(url: string, branch: string, shown = url): Promise<string> {
    await this.ensure();
    const ref = `refs/capstan/${branch}`;
    const r = await git(['--git-dir', this.dir, 'fetch', '--quiet', '--force', '--no-tags', '--', url, `+refs/heads/${branch}:${ref}`], { timeoutMs: this.timeoutMs });
    // git may echo the URL it was given: never let credentials in it reach a status or a log.
    const reason = (stderr: string) => gitReason(stderr.split(url).join(shown));
    if (r.code !== 0) throw new CapstanError('CAPSTAN_GITOPS_REPOSITORY_UNREACHABLE', `cannot fetch branch ${branch} of ${shown}: ${reason(r.stderr)}`, { fields: { url: shown, branch } });
    const head = await git(['--git-dir', this.dir, 'rev-parse', '--verify', `${ref}^{commit}`], { timeoutMs: this.timeoutMs });
    if (head.code !== 0) throw new CapstanError('CAPSTAN_GITOPS_REPOSITORY_UNREACHABLE', `branch ${branch} of ${shown} has no commit: ${reason(head.stderr)}`);
    return head.stdout.toString().trim();
  }

  /** Writes the tree of `commit` into `target` (created empty). */
  async export(commit: string, target: string): Promise<void> {
    await rm(target, { recursive: true, force: true });
    await mkdir(target, { recursive: true });
    const tarFile = path.join(target, '..', `${path.basename(target)}.tar`);
    const { createWriteStream } = await import('node:fs');
    const out = createWriteStream(tarFile);
    const r = await git(['--git-dir', this.dir, 'archive', '--format=tar', commit], { timeoutMs: this.timeoutMs, stdoutTo: out });
    await new Promise<void>((resolve) => (out.writableFinished ? resolve() : out.on('finish', () => resolve())));
    if (r.code !== 0) throw new CapstanError('CAPSTAN_GITOPS_REPOSITORY_UNREACHABLE', `cannot read commit ${commit}: ${gitReason(r.stderr)}`);
    const untar = await new Promise<number | null>((resolve, reject) => {
      const child = spawn('tar', ['-x', '-f', tarFile, '-C', target], { stdio: 'ignore' });
      child.on('error', reject);
      child.on('close', resolve);
    });
    await rm(tarFile, { force: true });
    if (untar !== 0) throw new CapstanError('CAPSTAN_GITOPS_REPOSITORY_UNREACHABLE', `cannot unpack commit ${commit}`);
  }
}
