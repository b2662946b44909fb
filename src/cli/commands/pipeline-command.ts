import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { sleep } from '../../core/clock.js';
import { CapstanError } from '../../core/errors.js';
import type { ExecutionRecord, LogLine } from '../../pipelines/index.js';
import { compileParams, parseParamPairs } from '../../pipelines/index.js';
import { localPipelinesApi, type DefinitionInput, type PipelinesApi } from '../../pipelines/index.js';
import { PipelinesClient } from '../../sdk/pipelines-client.js';
import { allOptions, printResult, table, withService, type ServiceAccess } from '../cli-context.js';
import { reportStepChanges } from '../step-progress.js';
import { fsReason } from '../../core/file-errors.js';

const access: ServiceAccess<PipelinesApi> = {
  local: (platform) => localPipelinesApi(platform.pipelines),
  remote: (http) => new PipelinesClient(http),
};

function readDefinition(file: string): DefinitionInput {
  let yaml: string;
  try {
    yaml = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CapstanError('CAPSTAN_PIPELINE_INVALID', `cannot read ${file}: ${fsReason(err)}`, { cause: err, fields: { path: file } });
  }
  return { yaml, file: path.basename(file), baseDir: path.dirname(path.resolve(file)) };
}

const collect = (v: string, prev: string[] = []) => [...prev, v];
const secs = (ms: number | null) => (ms == null ? '' : `${(ms / 1000).toFixed(1)}s`);

/** The execution as `run --wait` and `describe` print it: one row per step with status, cache hit, duration and metrics. */
export function renderExecution(e: ExecutionRecord): string {
  const head = `execution ${e.id}  pipeline ${e.pipeline} v${e.pipelineVersion}  ${e.state.toUpperCase()}  ${secs(e.durationMs)}${e.error ? `\n  error: ${e.error}` : ''}`;
  const rows = e.steps.map((s) => ({
    step: s.name,
    type: s.type,
    state: s.state,
    cached: s.cached ? `yes (${s.cachedFrom})` : s.cacheKey ? 'no' : '',
    attempts: s.attempts,
    duration: secs(s.durationMs),
    metrics: Object.entries(s.metrics).map(([k, v]) => `${k}=${Number(v.toPrecision(4))}`).join(' '),
    error: s.error ? `${s.error.code}: ${s.error.message}` : s.warnings.length ? `warning: ${s.warnings.join('; ')}` : '',
  }));
  return `${head}\n${table(rows)}`;
}

function renderLine(l: LogLine, withStep: boolean): string {
  return `${l.at.slice(11, 23)} ${withStep ? `[${l.step}#${l.attempt}] ` : ''}${l.stream === 'stderr' ? '! ' : l.stream === 'system' ? '» ' : ''}${l.line}`;
}

/** `--since 1d` / `2h` / `30m` or an ISO time, as epoch ms. */
export function parseSince(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$/.exec(value.trim());
  if (m) return now - Number(m[1]) * { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7, w: 6.048e8 }[m[2] as 's']!;
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new CapstanError('CAPSTAN_REQUEST_INVALID', `--since/--until ${JSON.stringify(value)}: use 30m, 2h, 1d, 1w or an ISO time`);
  return t;
}

const me = () => `local:${os.userInfo().username}`;

/** Who started an execution, as one word: `manual:local:ana`, `artifact:new-interactions` (a trigger's `by` already names its type). */
export function triggerLabel(trigger: { type: string; by: string }): string {
  return trigger.by.startsWith(`${trigger.type}:`) ? trigger.by : `${trigger.type}:${trigger.by}`;
}

/**
 * The newest execution of a pipeline (an unknown name fails with CAPSTAN_PIPELINE_NOT_FOUND). With
 * `wait`, a pipeline that has none yet is polled until one starts: `capstan logs <pipeline> --follow`
 * right after an upload that fires its artifact trigger, which checks every few seconds.
 */
async function newestExecution(api: PipelinesApi, pipeline: string, wait: boolean): Promise<string> {
  let announced = false;
  for (;;) {
    const last = (await api.describe(pipeline)).lastExecution;
    if (last) return last.id;
    if (!wait) throw new CapstanError('CAPSTAN_PIPELINE_EXECUTION_NOT_FOUND', `pipeline ${pipeline} has no executions yet`, { fields: { pipeline } });
    if (!announced) process.stderr.write(`waiting for the first execution of ${pipeline}…\n`);
    announced = true;
    await sleep(500);
  }
}

/** `capstan pipeline validate|apply|run|list|executions|describe|cancel` and `capstan logs`. */
export function pipelineCommand(program: Command): void {
  const pipeline = program.command('pipeline').description('Training pipelines: validate, apply, run, inspect');

  pipeline
    .command('validate')
    .description('Check a definition: errors name file, line and path')
    .requiredOption('-f, --file <file>', 'pipeline YAML')
    .option('--json', 'print JSON')
    .action(async (_o, cmd: Command) => {
      const o = allOptions<{ file: string }>(cmd);
      const def = await withService(cmd, access, (api) => api.validate(readDefinition(o.file)));
      printResult(cmd, { valid: true, pipeline: def }, () => `${o.file}: valid (${def.steps.length} steps: ${def.steps.map((s) => s.name).join(', ')})`);
    });

  pipeline
    .command('apply')
    .description('Create or update a pipeline from a definition (its code directory is snapshotted)')
    .requiredOption('-f, --file <file>', 'pipeline YAML')
    .option('--json', 'print JSON')
    .action(async (_o, cmd: Command) => {
      const o = allOptions<{ file: string }>(cmd);
      const r = await withService(cmd, access, (api) => api.apply(readDefinition(o.file)));
      printResult(cmd, r, () => {
        const secrets = Object.entries(r.webhookSecrets).map(([t, s]) => `\nwebhook ${t} secret (shown once): ${s}`).join('');
        return `pipeline ${r.pipeline.name} v${r.pipeline.version} ${r.changed ? 'applied' : 'unchanged'}${r.pipeline.codeDigest ? ` (code ${r.pipeline.codeDigest.slice(0, 19)})` : ''}${secrets}`;
      });
    });

  pipeline
    .command('run [name]')
    .description('Start an execution of an applied pipeline, or apply and start one from -f')
    .option('-f, --file <file>', 'apply this definition first')
    .option('-p, --param <name=value>', 'parameter override (repeatable)', collect)
    .option('-w, --wait', 'wait for the end (runs it in this process unless a server runs it) and exit non-zero unless it succeeded')
    .option('--json', 'print JSON')
    .action(async (name: string | undefined, _o, cmd: Command) => {
      const o = allOptions<{ file?: string; param?: string[]; wait?: boolean }>(cmd);
      if (!name && !o.file) throw new CapstanError('CAPSTAN_REQUEST_INVALID', 'give a pipeline name or -f <file>');
      const params = parseParamPairs(o.param);
      const exec = await withService(cmd, access, async (api) => {
        let target = name!;
        if (o.file) {
          const input = readDefinition(o.file);
          // The definition and these parameters are checked before anything is applied: a run that cannot start must not replace the applied version.
          compileParams(await api.validate(input), params);
          target = (await api.apply(input)).pipeline.name;
        }
        const started = await api.start(target, params, me());
        if (!o.wait) return started;
        if (allOptions(cmd).json) return api.wait(started.id);
        process.stderr.write(`execution ${started.id} started; waiting…\n`);
        const done = api.wait(started.id);
        await reportStepChanges(() => api.execution(started.id), done, (line) => process.stderr.write(`  ${line}\n`));
        return done;
      });
      printResult(cmd, exec, () => (o.wait ? renderExecution(exec) : `execution ${exec.id} queued (capstan up runs it; follow with: capstan logs ${exec.id} --follow)`));
      if (o.wait && exec.state !== 'succeeded') process.exitCode = 1;
    });

  pipeline
    .command('list')
    .description('Applied pipelines')
    .option('--json', 'print JSON')
    .action(async (_o, cmd: Command) => {
      const list = await withService(cmd, access, (api) => api.list());
      printResult(cmd, { pipelines: list }, () => table(list.map((p) => ({ name: p.name, version: p.version, steps: p.definition.steps.length, triggers: p.definition.triggers.map((t) => t.type).join(','), updated: p.updatedAt }))));
    });

  pipeline
    .command('executions [name]')
    .description('Executions, newest first')
    .option('--limit <n>', 'how many', '20')
    .option('--json', 'print JSON')
    .action(async (name: string | undefined, _o, cmd: Command) => {
      const o = allOptions<{ limit: string }>(cmd);
      const list = await withService(cmd, access, (api) => api.executions({ pipeline: name, limit: Number(o.limit) }));
      printResult(cmd, { executions: list }, () =>
        table(list.map((e) => ({ id: e.id, pipeline: e.pipeline, state: e.state, trigger: triggerLabel(e.trigger), cached: `${e.steps.filter((s) => s.cached).length}/${e.steps.length}`, duration: secs(e.durationMs), created: e.createdAt }))),
      );
    });

  pipeline
    .command('describe <nameOrExecution>')
    .description('A pipeline (definition, triggers, last execution) or an execution (steps)')
    .option('--json', 'print JSON')
    .action(async (target: string, _o, cmd: Command) => {
      if (target.startsWith('exe_')) {
        const e = await withService(cmd, access, (api) => api.execution(target));
        return printResult(cmd, e, () => renderExecution(e));
      }
      const p = await withService(cmd, access, (api) => api.describe(target));
      printResult(cmd, p, () =>
        [
          `pipeline ${p.name} v${p.version}${p.definition.description ? ` — ${p.definition.description}` : ''}`,
          `parameters: ${Object.entries(p.definition.parameters).map(([k, v]) => `${k}:${v.type}${v.default !== undefined ? `=${v.default}` : ''}`).join(', ') || '(none)'}`,
          `steps: ${p.definition.steps.map((s) => `${s.name}(${s.type})`).join(' ')}`,
          `triggers: ${p.triggers.map((t) => `${t.name}(${t.type})`).join(' ') || '(none)'}`,
          p.lastExecution ? `last execution:\n${renderExecution(p.lastExecution)}` : 'no executions yet',
        ].join('\n'),
      );
    });

  pipeline
    .command('cancel <execution>')
    .description('Cancel an execution')
    .option('--json', 'print JSON')
    .action(async (id: string, _o, cmd: Command) => {
      const e = await withService(cmd, access, (api) => api.cancel(id));
      printResult(cmd, e, () => `cancel requested for ${e.id}`);
    });

  const logs = program
    .command('logs')
    .description('Step logs of an execution, or `logs search` across executions')
    .argument('[execution]', 'execution id, or a pipeline name for its newest execution')
    .option('--step <step>', 'only this step')
    .option('-f, --follow', 'keep printing new lines until the execution ends (a pipeline with none yet: wait for its first), then exit non-zero unless it succeeded')
    .option('--json', 'print JSON')
    .action(async (target: string | undefined, _o, cmd: Command) => {
      if (!target) return void cmd.help();
      const o = allOptions<{ step?: string; follow?: boolean; json?: boolean }>(cmd);
      await withService(cmd, access, async (api) => {
        const id = target.startsWith('exe_') ? target : await newestExecution(api, target, Boolean(o.follow));
        const seen = new Set<string>();
        for (;;) {
          const fresh = (await api.logs(id, o.step)).filter((l) => !seen.has(`${l.step}#${l.attempt}#${l.seq}`));
          for (const l of fresh) {
            seen.add(`${l.step}#${l.attempt}#${l.seq}`);
            process.stdout.write(o.json ? `${JSON.stringify(l)}\n` : `${renderLine(l, !o.step)}\n`);
          }
          if (!o.follow) return;
          const e = await api.execution(id);
          if (e.state !== 'queued' && e.state !== 'running' && fresh.length === 0) {
            if (e.state !== 'succeeded') {
              process.stderr.write(`execution ${id} ${e.state}\n`);
              process.exitCode = 1;
            }
            return;
          }
          await sleep(500);
        }
      });
    });

  logs
    .command('search <pattern>')
    .description('Search step logs by text (or --regex) and time range')
    .option('--regex', 'pattern is an RE2 regular expression (no back-references or look-around)')
    .option('--pipeline <name>', 'only this pipeline')
    .option('--step <step>', 'only this step')
    .option('--since <when>', '30m, 2h, 1d, 1w or an ISO time')
    .option('--until <when>', 'same forms as --since')
    .option('--limit <n>', 'most lines', '200')
    .option('--json', 'print JSON')
    .action(async (pattern: string, _o, cmd: Command) => {
      const o = allOptions<{ regex?: boolean; pipeline?: string; step?: string; since?: string; until?: string; limit: string }>(cmd);
      const lines = await withService(cmd, access, (api) =>
        api.search({ pattern, regex: o.regex, pipeline: o.pipeline, step: o.step, since: parseSince(o.since), until: parseSince(o.until), limit: Number(o.limit) }),
      );
      printResult(cmd, { lines }, () => lines.map((l) => `${l.at} ${l.pipeline} ${l.executionId} [${l.step}#${l.attempt}] ${l.line}`).join('\n') || '(no matches)');
    });
}
