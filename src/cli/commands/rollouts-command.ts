import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CapstanError, isCapstanError } from '../../core/errors.js';
import { parseUserYaml } from '../../core/user-yaml.js';
import { DEPLOYMENT_STRATEGIES, ON_ALARM_ACTIONS, type AlarmInput, type Deployment, type DeploymentPolicyInput, type RolloutService } from '../../rollouts/index.js';
import { RolloutsClient } from '../../sdk/rollouts-client.js';
import { printResult, table, withService, allOptions, type ServiceAccess } from '../cli-context.js';
import type { CommandModule } from './index.js';

/** The rollout service locally or over `--url`. */
export const rolloutsAccess: ServiceAccess<RolloutService> = {
  local: (platform) => platform.context<RolloutService>('rollouts'),
  remote: (http) => new RolloutsClient(http),
};

/** The flags of a deployment policy, as `deploy` and `update` take them. */
export interface StrategyFlags {
  strategy?: string;
  canaryPercent?: string;
  linearStepPercent?: string;
  wait?: string;
  bake?: string;
  terminationWait?: string;
  maxExecution?: string;
  evalInterval?: string;
  onAlarm?: string;
  maxErrorRate?: string;
  maxP99Ms?: string;
  maxErrorRateAboveBlue?: string;
  maxP99AboveBlueMs?: string;
  alarm?: string[];
  alarmWindow?: string;
  policyFile?: string;
  force?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Adds `--strategy` and the policy flags to `deploy` or `update`. */
export function addStrategyFlags(cmd: Command): Command {
  return cmd
    .option('--strategy <kind>', `shift traffic step by step under alarms: ${DEPLOYMENT_STRATEGIES.join(', ')} (a deployment; see endpoints deployments)`)
    .option('--canary-percent <n>', "canary: green's first share, 1-50; default 10")
    .option('--linear-step-percent <n>', "linear: green's share added per step, 10-50; default 25")
    .option('--wait <seconds>', 'seconds each step holds, 0-3600; default 60')
    .option('--bake <seconds>', 'seconds at 100 % with alarms armed, 0-3600; default 0')
    .option('--termination-wait <seconds>', 'seconds the old variants stay loaded after baking, 0-3600; default 0')
    .option('--max-execution <seconds>', 'roll back after this long, 600-14400; default 14400')
    .option('--eval-interval <seconds>', 'alarm evaluation interval, 1-300; default 10')
    .option('--on-alarm <action>', `${ON_ALARM_ACTIONS.join(' or ')}; default rollback`)
    .option('--max-error-rate <fraction>', "alarm: green's 5xx rate above this (0-1)")
    .option('--max-p99-ms <ms>', "alarm: green's p99 latency above this")
    .option('--max-error-rate-above-blue <fraction>', "alarm: green's 5xx rate more than this above blue's")
    .option('--max-p99-above-blue-ms <ms>', "alarm: green's p99 more than this above blue's")
    .option('--alarm <cel>', 'alarm: a CEL condition over green and blue, e.g. "green.errorRate > 0.05" (repeatable)', collect)
    .option('--alarm-window <seconds>', 'how far back alarms look, 1-3600; default 30')
    .option('--policy-file <file>', 'YAML/JSON deployment policy ({ strategy, canaryPercent, alarms: [...] }); flags override it')
    .option('--force', 'roll a running deployment back first instead of failing with 409');
}

/** A number flag as a number; anything else passes through so the policy compiler names it. */
function num(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  return (value.trim() !== '' && Number.isFinite(n) ? n : value) as number;
}

function readPolicyFile(file: string): Partial<DeploymentPolicyInput> {
  let doc: unknown;
  try {
    doc = parseUserYaml(readFileSync(file, 'utf8'), file);
  } catch (err) {
    if (isCapstanError(err)) throw err;
    throw new CapstanError('CAPSTAN_REQUEST_INVALID', `cannot read ${file}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
  if (!doc || typeof doc !== 'object') throw new CapstanError('CAPSTAN_ROLLOUT_POLICY_INVALID', `${file} must hold a deployment policy { strategy, ... }`);
  return doc as Partial<DeploymentPolicyInput>;
}

/** The policy the flags (and `--policy-file`, or a `deploymentPolicy` in the endpoint file) describe; undefined without `--strategy` or a policy. */
export function policyFromFlags(o: StrategyFlags, fromFile?: Partial<DeploymentPolicyInput>): DeploymentPolicyInput | undefined {
  const base: Partial<DeploymentPolicyInput> = { ...(fromFile ?? {}), ...(o.policyFile ? readPolicyFile(o.policyFile) : {}) };
  if (o.strategy === undefined && base.strategy === undefined) return undefined;
  const window = num(o.alarmWindow);
  const w = window !== undefined ? { windowSeconds: window } : {};
  const alarms: AlarmInput[] = [...(base.alarms ?? [])];
  if (o.maxErrorRate !== undefined) alarms.push({ type: 'error-rate', threshold: num(o.maxErrorRate), ...w });
  if (o.maxP99Ms !== undefined) alarms.push({ type: 'p99', threshold: num(o.maxP99Ms), ...w });
  if (o.maxErrorRateAboveBlue !== undefined) alarms.push({ type: 'error-rate', threshold: num(o.maxErrorRateAboveBlue), relativeToBlue: true, ...w });
  if (o.maxP99AboveBlueMs !== undefined) alarms.push({ type: 'p99', threshold: num(o.maxP99AboveBlueMs), relativeToBlue: true, ...w });
  for (const expression of o.alarm ?? []) alarms.push({ type: 'cel', expression, ...w });
  const set = <K extends keyof DeploymentPolicyInput>(key: K, value: DeploymentPolicyInput[K] | undefined) => (value === undefined ? {} : { [key]: value });
  return {
    ...base,
    strategy: (o.strategy ?? base.strategy) as DeploymentPolicyInput['strategy'],
    ...set('canaryPercent', num(o.canaryPercent)),
    ...set('linearStepPercent', num(o.linearStepPercent)),
    ...set('waitSeconds', num(o.wait)),
    ...set('bakeSeconds', num(o.bake)),
    ...set('terminationWaitSeconds', num(o.terminationWait)),
    ...set('maxExecutionSeconds', num(o.maxExecution)),
    ...set('evaluationIntervalSeconds', num(o.evalInterval)),
    ...set('onAlarm', o.onAlarm as DeploymentPolicyInput['onAlarm']),
    ...(alarms.length ? { alarms } : {}),
  };
}

/** One deployment as text: its steps, the latest evaluations and the outcome. */
export function deploymentText(d: Deployment): string {
  const head = [
    `deployment:  ${d.id}`,
    `endpoint:    ${d.endpoint}`,
    `strategy:    ${d.policy.strategy}${d.policy.canaryPercent ? ` ${d.policy.canaryPercent}%` : ''}${d.policy.linearStepPercent ? ` ${d.policy.linearStepPercent}% steps` : ''}, wait ${d.policy.waitSeconds}s, on alarm ${d.policy.onAlarm}`,
    `status:      ${d.status} (${d.phase}, green ${d.greenPercent}%)${d.reason ? ` — ${d.reason}` : ''}`,
    `green:       ${d.green.map((v) => `${v.name}=${v.model}`).join(' ')}`,
    `blue:        ${d.blue.map((v) => `${v.name}=${v.model}`).join(' ')}`,
    `started:     ${d.startedAt}${d.finishedAt ? `, finished ${d.finishedAt}` : ''}`,
  ];
  for (const l of d.lineage ?? []) head.push(`commit:      ${l.variant}=${l.model}/${l.version} from ${l.repository ? `${l.repository}@` : ''}${l.commit}`);
  if (d.alarm) head.push(`alarm:       ${d.alarm.alarm} at ${d.alarm.at}: green ${JSON.stringify(d.alarm.evaluation.green)}, blue ${JSON.stringify(d.alarm.evaluation.blue)}${d.alarm.evaluation.value !== undefined ? `, value ${d.alarm.evaluation.value}` : ''}`);
  const steps = table(d.steps.map((s) => ({ at: s.at, phase: s.phase, green: `${s.greenPercent}%`, note: s.note ?? '' })));
  return `${head.join('\n')}\n\n${steps}`;
}

/** `capstan endpoints deployments|rollback|resume`: the rollout history and the active deployment's controls. */
export const rolloutsCommand: CommandModule = (program: Command) => {
  const endpoints = program.commands.find((c) => c.name() === 'endpoints') ?? program.command('endpoints');
  endpoints
    .command('deployments <name>')
    .description("the endpoint's deployments, newest first: strategy, steps, alarms and outcome (--id for one in full)")
    .option('--id <deployment>', 'one deployment with its steps')
    .option('--json', 'print JSON')
    .action(async (name: string, _opts, cmd: Command) => {
      const o = allOptions<{ id?: string }>(cmd);
      if (o.id) {
        const d = await withService(cmd, rolloutsAccess, (s) => s.get(name, o.id!));
        return printResult(cmd, d, () => deploymentText(d));
      }
      const list = await withService(cmd, rolloutsAccess, (s) => s.list(name));
      printResult(cmd, list, () =>
        table(
          list.map((d) => ({
            id: d.id,
            strategy: d.policy.strategy,
            status: d.status,
            green: `${d.greenPercent}%`,
            model: d.green.map((v) => v.model).join(' '),
            commit: (d.lineage ?? []).map((l) => l.commit.slice(0, 12)).join(' '),
            started: d.startedAt,
            finished: d.finishedAt ?? '',
            outcome: d.alarm ? `alarm ${d.alarm.alarm}` : (d.reason ?? ''),
          })),
        ),
      );
    });
  for (const [verb, description] of [
    ['rollback', "roll the endpoint's running or paused deployment back to 100 % blue"],
    ['resume', 'continue a deployment an alarm paused'],
  ] as const) {
    endpoints
      .command(`${verb} <name>`)
      .description(description)
      .option('--json', 'print JSON')
      .action(async (name: string, _opts, cmd: Command) => {
        const d = await withService(cmd, rolloutsAccess, (s) => (verb === 'rollback' ? s.rollback(name) : s.resume(name)));
        printResult(cmd, d, () => deploymentText(d));
      });
  }
  const models = program.commands.find((c) => c.name() === 'models') ?? program.command('models');
  addStrategyFlags(
    models
      .command('auto-deploy <model>')
      .description('roll every version of the model group approved from now on out to --endpoint under --strategy (and alarms); --show prints it, --remove drops it')
      .option('--endpoint <name>', 'the endpoint approved versions roll out to')
      .option('--no-supersede', 'fail instead of rolling back a deployment still running when a newer version is approved')
      .option('--show', 'print the policy')
      .option('--remove', 'remove the policy')
      .option('--json', 'print JSON'),
  ).action(async (model: string, _opts, cmd: Command) => {
    const o = allOptions<StrategyFlags & { endpoint?: string; supersede?: boolean; show?: boolean; remove?: boolean }>(cmd);
    if (o.remove) {
      await withService(cmd, rolloutsAccess, (s) => s.removeAutoDeploy(model));
      return printResult(cmd, { removed: model }, () => `auto-deploy of ${model} removed`);
    }
    if (o.show) {
      const p = await withService(cmd, rolloutsAccess, (s) => s.getAutoDeploy(model));
      return printResult(cmd, p, () => `${model}: approved versions roll out to ${p.endpoint} (${p.policy.strategy}), set by ${p.actor} at ${p.createdAt}`);
    }
    const policy = policyFromFlags(o);
    if (!o.endpoint || !policy) throw new CapstanError('CAPSTAN_REQUEST_INVALID', 'give --endpoint <name> and --strategy <kind> (or --policy-file), or --show / --remove');
    const p = await withService(cmd, rolloutsAccess, (s) => s.setAutoDeploy(model, { endpoint: o.endpoint!, policy, supersede: o.supersede !== false }));
    printResult(cmd, p, () => `${model}: approved versions now roll out to ${p.endpoint} (${p.policy.strategy})`);
  });
  endpoints
    .command('shadow-report <name>')
    .description("compare each shadow variant's answers with the answers users got: agreement, overlap@k and rank correlation for rankings, score deltas, latency, errors (needs data capture)")
    .option('--json', 'print JSON')
    .action(async (name: string, _opts, cmd: Command) => {
      const r = await withService(cmd, rolloutsAccess, (s) => s.shadowReport(name));
      printResult(cmd, r, () =>
        r.shadows.length === 0
          ? `no shadow pairs in the data capture of ${name} (give a variant shadowPercent and turn data capture on)`
          : table(
              r.shadows.map((s) => ({
                shadow: s.shadow,
                pairs: s.pairs,
                agreement: `${Math.round(s.agreement * 1000) / 10}%`,
                'overlap@k': s.overlapAtK ?? '-',
                'rank corr': s.rankCorrelation ?? '-',
                'score delta': s.meanScoreDelta ?? '-',
                'p99 ms (primary/shadow)': `${s.latencyMs.primaryP99}/${s.latencyMs.shadowP99}`,
                errors: `${s.errors} (${Math.round(s.errorRate * 1000) / 10}%)`,
              })),
            ),
      );
    });
  endpoints
    .command('feedback <name>')
    .description('report the outcome of one invocation (its --inference-id): a --reward number or a --label')
    .requiredOption('--inference-id <id>', 'the X-Capstan-Inference-Id the invocation carried')
    .option('--reward <number>', 'numeric outcome, e.g. 1 for a conversion')
    .option('--label <text>', 'label outcome, e.g. converted')
    .option('--json', 'print JSON')
    .action(async (name: string, _opts, cmd: Command) => {
      const o = allOptions<{ inferenceId: string; reward?: string; label?: string }>(cmd);
      const r = await withService(cmd, rolloutsAccess, (s) => s.feedback(name, { inferenceId: o.inferenceId, ...(o.reward !== undefined ? { reward: num(o.reward) } : {}), ...(o.label !== undefined ? { label: o.label } : {}) }));
      printResult(cmd, r, () => `feedback ${r.value} for ${r.inferenceId} (answered by ${r.variant})`);
    });
  endpoints
    .command('ab-report <name>')
    .description('per-variant invocations, outcomes, mean reward or conversion with 95 % intervals, and a significance test of the best against the runner-up')
    .option('--json', 'print JSON')
    .action(async (name: string, _opts, cmd: Command) => {
      const r = await withService(cmd, rolloutsAccess, (s) => s.abReport(name));
      printResult(cmd, r, () => {
        const rows = table(r.variants.map((v) => ({ variant: v.variant, invocations: v.invocations, feedback: v.feedback, mean: v.mean ?? '-', '95% CI': v.ci95 ? `${v.ci95[0]} – ${v.ci95[1]}` : '-' })));
        const t = r.test ? `\n\n${r.test.best} vs ${r.test.runnerUp}: difference ${r.test.difference}, t ${r.test.t}, p ${r.test.pValue} — ${r.test.significantAt95 ? 'significant' : 'not significant'} at 95 %` : '\n\n(no test: needs two variants with at least two outcomes each)';
        return rows + t;
      });
    });
  addStrategyFlags(
    endpoints
      .command('promote <name>')
      .description('promote a shadow variant (--shadow) to serve users, step by step under --strategy and alarms')
      .requiredOption('--shadow <variant>', 'the shadow variant to promote')
      .option('--json', 'print JSON'),
  ).action(async (name: string, _opts, cmd: Command) => {
    const o = allOptions<StrategyFlags & { shadow: string }>(cmd);
    const policy = policyFromFlags(o) ?? { strategy: 'all-at-once' as const };
    const d = await withService(cmd, rolloutsAccess, (s) => s.start(name, { fromShadow: o.shadow, policy, force: o.force }));
    printResult(cmd, d, () => deploymentText(d));
  });
};
