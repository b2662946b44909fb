import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CapstanError } from '../../core/errors.js';
import { fsReason } from '../../core/file-errors.js';
import { parseUserYaml } from '../../core/user-yaml.js';
import { writeRecordsParquet, type DecisionQuery, type DecisionRecord, type DecisionService, type ReplayReport } from '../../decisions/index.js';
import { DecisionsClient } from '../../sdk/decisions-client.js';
import { allOptions, integerOption, printResult, table, withService, type ServiceAccess } from '../cli-context.js';
import type { CommandModule } from './index.js';
import { parseSince } from './pipeline-command.js';

const access: ServiceAccess<DecisionService> = {
  local: (platform) => platform.context<DecisionService>('decisions'),
  remote: (http) => new DecisionsClient(http),
};

function readText(file: string, code: 'CAPSTAN_DECISIONS_USECASE_INVALID' | 'CAPSTAN_DECISIONS_INPUT_INVALID'): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new CapstanError(code, `cannot read ${file}: ${fsReason(err)}`, { cause: err, fields: { path: file } });
  }
}

/** `--input '{"a":1}'` or `--input @file.json`. */
function parseInput(value: string): unknown {
  const text = value.startsWith('@') ? readText(value.slice(1), 'CAPSTAN_DECISIONS_INPUT_INVALID') : value;
  try {
    return JSON.parse(text);
  } catch {
    throw new CapstanError('CAPSTAN_DECISIONS_INPUT_INVALID', '--input must be JSON (or @file with JSON)', { fields: { violations: ['(input) is not valid JSON'] } });
  }
}

const iso = (value: string | undefined) => (value === undefined ? undefined : new Date(parseSince(value)!).toISOString());

function queryOf(o: Record<string, unknown>): DecisionQuery {
  return { usecase: o.usecase as string | undefined, subject: o.subject as string | undefined, outcome: o.outcome as string | undefined, status: o.status as DecisionQuery['status'], since: iso(o.since as string | undefined), until: iso(o.until as string | undefined), limit: o.limit as number | undefined };
}

function recordRows(records: DecisionRecord[]): string {
  return table(records.map((r) => ({ id: r.id, time: r.time, usecase: `${r.usecase} v${r.version}${r.role === 'challenger' ? ' (challenger)' : ''}`, subject: r.subject ?? '', outcome: r.outcome ?? `error`, reasons: r.reasons.join('; '), ms: r.latencyMs })));
}

function recordText(r: DecisionRecord): string {
  const s = r.snapshot;
  const lines = [`decision ${r.id}  ${r.usecase} v${r.version} (${r.role})  ${r.time}`, `subject  ${r.subject ?? '-'}`, `outcome  ${r.outcome ?? 'error'}${r.reasons.length ? `  (${r.reasons.join('; ')})` : ''}`];
  if (s.error) lines.push(`error    ${s.error.code}: ${s.error.message}`);
  lines.push(`input    ${JSON.stringify(s.input)}`, `thresholds ${JSON.stringify(s.thresholds)}`, '', 'tasks:');
  lines.push(table(s.tasks.map((t) => ({ task: t.name, type: t.type, status: t.status, attempts: t.attempts, ms: t.latencyMs, model: t.model ? `${t.model.name ?? t.model.endpoint}/${t.model.version ?? '?'} (${t.model.variant})` : '', output: JSON.stringify(t.output)?.slice(0, 80) }))));
  for (const t of s.tasks.filter((x) => x.features)) {
    lines.push('', `features of ${t.name}:`, table(Object.entries(t.features!).map(([ref, v]) => ({ feature: ref, value: JSON.stringify(v.value), status: v.status, eventTime: v.eventTime ?? '' }))));
  }
  if (s.rules) lines.push('', `rule trace (${s.rules.engine}):`, ...s.rules.trace.map((x) => `  ${JSON.stringify(x)}`));
  if (Object.keys(s.output).length) lines.push('', `output   ${JSON.stringify(s.output)}`);
  return lines.join('\n');
}

function replayText(r: ReplayReport): string {
  const head = `replayed ${r.records} decisions of ${r.usecase} (${r.since} to ${r.until}) against version ${r.version}: ${r.changed} changed, ${r.unchanged} unchanged, ${r.skipped} skipped (${r.recordsPerSecond} records/s)`;
  const transitions = Object.entries(r.transitions).map(([k, n]) => `  ${k}: ${n}`);
  const rates = `outcomes before ${JSON.stringify(r.before)}  after ${JSON.stringify(r.after)}`;
  const examples = r.examples.map((e) => `  ${e.id}: ${e.from ?? 'error'} → ${e.to ?? 'error'}  ${e.reasons.join('; ')}`);
  return [head, ...(transitions.length ? ['changes:', ...transitions] : []), rates, ...(examples.length ? ['examples:', ...examples] : [])].join('\n');
}

/** `capstan decisions …`: use cases, decisions, records, replay, champion/challenger. */
export const decisionsCommand: CommandModule = (program) => {
  const d = program.command('decisions').description('Decision service: use cases, decisions, records, replay');
  d.command('apply')
    .description('Apply a use-case definition (YAML or JSON) as its next version')
    .requiredOption('-f, --file <file>', 'the definition')
    .option('--activate', 'make the applied version the active one')
    .option('--json', 'print JSON')
    .action(async (_o, cmd: Command) => {
      const o = allOptions<{ file: string; activate?: boolean }>(cmd);
      const definition = parseUserYaml(readText(o.file, 'CAPSTAN_DECISIONS_USECASE_INVALID'), o.file);
      const r = await withService(cmd, access, (s) => s.apply(definition, { activate: o.activate }));
      printResult(cmd, r, () => `${r.created ? 'applied' : 'unchanged'} ${r.usecase.name} version ${r.version}; active ${r.usecase.activeVersion ?? 'none'}`);
    });
  d.command('activate <usecase>')
    .description('Make a version active, or the shadow challenger')
    .option('--version <n>', 'the version', integerOption('--version', 1, 1_000_000))
    .option('--challenger', 'run the version in shadow beside the active one')
    .option('--stop-challenger', 'stop the shadow challenger')
    .option('--json', 'print JSON')
    .action(async (usecase: string, _o, cmd: Command) => {
      const o = allOptions<{ version?: number; challenger?: boolean; stopChallenger?: boolean }>(cmd);
      if (o.version === undefined && !o.stopChallenger) throw new CapstanError('CAPSTAN_REQUEST_INVALID', 'give --version N (or --stop-challenger)');
      const r = await withService(cmd, access, (s) => s.activate(usecase, o.stopChallenger ? null : o.version!, { challenger: o.challenger || o.stopChallenger }));
      printResult(cmd, r, () => `${r.name}: active ${r.activeVersion ?? 'none'}, challenger ${r.challengerVersion ?? 'none'}`);
    });
  d.command('usecases')
    .description('List use cases')
    .option('--json', 'print JSON')
    .action(async (_o, cmd: Command) => {
      const r = await withService(cmd, access, (s) => s.useCases());
      printResult(cmd, r, () => table(r.map((u) => ({ name: u.name, latest: u.latestVersion, active: u.activeVersion ?? '', challenger: u.challengerVersion ?? '', updated: u.updatedAt }))));
    });
  d.command('describe <usecase>')
    .description("Print a version's definition (default the active one)")
    .option('--version <n>', 'the version', integerOption('--version', 1, 1_000_000))
    .action(async (usecase: string, _o, cmd: Command) => {
      const o = allOptions<{ version?: number }>(cmd);
      const r = await withService(cmd, access, (s) => s.describe(usecase, o.version));
      process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    });
  d.command('decide <usecase>')
    .description('Make one decision with the active version')
    .requiredOption('-i, --input <json>', 'the input as JSON, or @file.json')
    .option('--json', 'print JSON')
    .action(async (usecase: string, _o, cmd: Command) => {
      const o = allOptions<{ input: string }>(cmd);
      const r = await withService(cmd, access, (s) => s.decide(usecase, parseInput(o.input)));
      printResult(cmd, r, () => `${r.outcome}  ${r.reasons.join('; ')}\nrecord ${r.id}${Object.keys(r.output).length ? `\noutput ${JSON.stringify(r.output)}` : ''}${r.defaulted.length ? `\ndefaulted ${r.defaulted.join(', ')}` : ''}`);
    });
  const filters = (c: Command) =>
    c
      .option('--usecase <name>', 'use case')
      .option('--subject <subject>', 'subject')
      .option('--outcome <outcome>', 'outcome')
      .option('--status <status>', 'ok or error')
      .option('--since <when>', '30m, 2h, 1d or an ISO time')
      .option('--until <when>', '30m, 2h, 1d or an ISO time');
  filters(d.command('list').description('Search decision records, newest first'))
    .option('--limit <n>', 'most records; default 100', integerOption('--limit', 1, 1000))
    .option('--json', 'print JSON')
    .action(async (_o, cmd: Command) => {
      const r = await withService(cmd, access, (s) => s.records(queryOf(allOptions(cmd))));
      printResult(cmd, r, () => recordRows(r));
    });
  d.command('show <id>')
    .description('One decision record with its snapshot')
    .option('--json', 'print JSON')
    .action(async (id: string, _o, cmd: Command) => {
      const r = await withService(cmd, access, (s) => s.record(id));
      printResult(cmd, r, () => recordText(r));
    });
  filters(d.command('export').description('Write decision records with their snapshots as JSON Lines or Parquet'))
    .option('-o, --output <file>', 'file to write; default stdout (JSON Lines only)')
    .option('--format <format>', 'jsonl or parquet; default from the file name (.parquet), else jsonl')
    .option('--limit <n>', 'most records; default 100000', integerOption('--limit', 1, 10_000_000))
    .action(async (_o, cmd: Command) => {
      const o = allOptions<{ output?: string; format?: string; limit?: number }>(cmd);
      const format = o.format ?? (o.output?.endsWith('.parquet') ? 'parquet' : 'jsonl');
      if (format !== 'jsonl' && format !== 'parquet') throw new CapstanError('CAPSTAN_REQUEST_INVALID', `--format must be jsonl or parquet, got ${JSON.stringify(format)}`);
      if (format === 'parquet' && !o.output) throw new CapstanError('CAPSTAN_REQUEST_INVALID', 'a Parquet export needs -o <file>');
      const query = queryOf({ ...allOptions(cmd), limit: undefined });
      const records = await withService(cmd, access, async (s) => {
        const out: DecisionRecord[] = [];
        let before: string | undefined;
        const want = o.limit ?? 100_000;
        while (out.length < want) {
          const page = await s.records({ ...query, before, limit: Math.min(1000, want - out.length) });
          out.push(...page);
          if (page.length === 0 || out.length >= want) break;
          before = page[page.length - 1].id;
        }
        return out;
      });
      if (format === 'parquet') writeRecordsParquet(o.output!, records);
      else {
        const text = records.length ? `${records.map((r) => JSON.stringify(r)).join('\n')}\n` : '';
        if (!o.output) return void process.stdout.write(text);
        writeFileSync(o.output, text);
      }
      process.stderr.write(`wrote ${records.length} records to ${o.output} (${format})\n`);
    });
  d.command('replay <usecase>')
    .description("Re-evaluate recorded decisions against a version's rules and thresholds (no model calls)")
    .requiredOption('--version <n>', 'the version to replay with', integerOption('--version', 1, 1_000_000))
    .requiredOption('--since <when>', '30m, 2h, 1d or an ISO time')
    .option('--until <when>', '30m, 2h, 1d or an ISO time; default now')
    .option('--examples <n>', 'changed decisions to list; default 10', integerOption('--examples', 0, 1000))
    .option('--json', 'print JSON')
    .action(async (usecase: string, _o, cmd: Command) => {
      const o = allOptions<{ version: number; since: string; until?: string; examples?: number }>(cmd);
      const r = await withService(cmd, access, (s) => s.replay(usecase, { version: o.version, since: iso(o.since)!, until: iso(o.until), examples: o.examples }));
      printResult(cmd, r, () => replayText(r));
    });
  d.command('compare <usecase>')
    .description('Champion and challenger outcome rates')
    .option('--since <when>', '30m, 2h, 1d or an ISO time; default 1d', '1d')
    .option('--json', 'print JSON')
    .action(async (usecase: string, _o, cmd: Command) => {
      const o = allOptions<{ since: string }>(cmd);
      const r = await withService(cmd, access, (s) => s.compare(usecase, iso(o.since)!));
      printResult(cmd, r, () =>
        [
          `${r.usecase} since ${r.since}`,
          `champion   v${r.champion.version ?? '-'}: ${r.champion.decisions} decisions ${JSON.stringify(r.champion.outcomes)}`,
          `challenger v${r.challenger.version ?? '-'}: ${r.challenger.decisions} decisions ${JSON.stringify(r.challenger.outcomes)}`,
          `disagreements ${r.disagreements}`,
        ].join('\n'),
      );
    });
};
