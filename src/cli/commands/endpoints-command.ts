import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CapstanError, isCapstanError } from '../../core/errors.js';
import { parseUserYaml } from '../../core/user-yaml.js';
import { EndpointsClient } from '../../sdk/endpoints-client.js';
import { TRAFFIC_POLICY_KINDS, type DataCaptureInput, type DeployOptions, type Endpoint, type EndpointConfigInput, type EndpointService, type EndpointStats, type ServingActionContext, type TrafficPolicyKind, type VariantInput } from '../../serving/index.js';
import { allOptions, printResult, table, withService, type ServiceAccess } from '../cli-context.js';
import type { CommandModule } from './index.js';
import { fsReason } from '../../core/file-errors.js';
import { addModelsCommand, addMultiModelFlags, multiModelFromFlags, type MultiModelFlags } from './endpoint-models-command.js';
import { addStrategyFlags, deploymentText, policyFromFlags, rolloutsAccess, type StrategyFlags } from './rollouts-command.js';

const access: ServiceAccess<EndpointService> = {
  local: (platform) => platform.serving,
  remote: (http) => new EndpointsClient(http),
};

interface VariantFlags {
  model?: string;
  variant?: string;
  instances?: number;
  maxBatchSize?: number;
  maxDelayMs?: number;
  intraOpThreads?: number;
  interOpThreads?: number;
  timeoutMs?: number;
  url?: string;
  interpreter?: string;
  handlerOption?: string[];
  dataCapture?: number;
  file?: string;
  allowUnapproved?: string;
}

function positiveInt(flag: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw new CapstanError('CAPSTAN_REQUEST_INVALID', `${flag} must be a non-negative integer, got ${JSON.stringify(value)}`);
    return Number(value);
  };
}

/** `--window`: `90s`, `5m`, `1h` or milliseconds. */
function windowMs(value: string): number {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw new CapstanError('CAPSTAN_REQUEST_INVALID', `--window must be a duration such as 90s, 5m or 1h, got ${JSON.stringify(value)}`);
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 'ms'] ?? 1;
  return Number(m[1]) * factor;
}

function trafficPolicyKind(value: string): TrafficPolicyKind {
  if (!(TRAFFIC_POLICY_KINDS as readonly string[]).includes(value)) throw new CapstanError('CAPSTAN_REQUEST_INVALID', `--traffic-policy must be one of ${TRAFFIC_POLICY_KINDS.join(', ')}, got ${JSON.stringify(value)}`);
  return value as TrafficPolicyKind;
}

/** The stats text: one row per variant, latencies in ms. */
function statsText(s: EndpointStats): string {
  const ms = (n: number | undefined) => (n === undefined ? '-' : String(n));
  const rows = s.variants.map((v) => ({
    variant: v.variant,
    requests: v.requests,
    '4xx': v.errors4xx,
    '5xx': v.errors5xx,
    'model errors': v.modelErrors,
    'error rate': `${Math.round(v.errorRate * 10000) / 100}%`,
    'p50 ms': ms(v.latencyMs?.p50),
    'p95 ms': ms(v.latencyMs?.p95),
    'p99 ms': ms(v.latencyMs?.p99),
  }));
  return `endpoint ${s.endpoint}, all serving processes, ${s.from} to ${s.to}\n\n${table(rows)}`;
}

function percent(value: string): number {
  const n = Number(value);
  if (!(n >= 0 && n <= 100)) throw new CapstanError('CAPSTAN_REQUEST_INVALID', `--data-capture must be a percentage from 0 to 100, got ${JSON.stringify(value)}`);
  return n;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** `key=value` handler options; values that parse as JSON (numbers, true, "…") are taken as JSON. */
function handlerOptions(pairs: string[] | undefined): Record<string, unknown> | undefined {
  if (!pairs?.length) return undefined;
  const out: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new CapstanError('CAPSTAN_REQUEST_INVALID', `--handler-option must be key=value, got ${JSON.stringify(pair)}`);
    const raw = pair.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // a bare word stays a string
    }
    out[pair.slice(0, eq)] = value;
  }
  return out;
}

function variantSettings(o: VariantFlags): Omit<VariantInput, 'model'> {
  const s: Omit<VariantInput, 'model'> = {};
  if (o.instances !== undefined) s.instances = o.instances;
  if (o.maxBatchSize !== undefined || o.maxDelayMs !== undefined) s.batching = { maxBatchSize: o.maxBatchSize, maxDelayMs: o.maxDelayMs };
  if (o.intraOpThreads !== undefined) s.intraOpThreads = o.intraOpThreads;
  if (o.interOpThreads !== undefined) s.interOpThreads = o.interOpThreads;
  if (o.timeoutMs !== undefined) s.timeoutMs = o.timeoutMs;
  if (o.url !== undefined) s.url = o.url;
  if (o.interpreter !== undefined) s.interpreter = o.interpreter;
  const h = handlerOptions(o.handlerOption);
  if (h) s.handlerOptions = h;
  return s;
}

function capture(o: VariantFlags): DataCaptureInput | undefined {
  return o.dataCapture === undefined ? undefined : { enabled: o.dataCapture > 0, samplingPercent: o.dataCapture };
}

/** The `--body-file` contents; a file that cannot be read is CAPSTAN_REQUEST_INVALID naming the path as given. */
function readBodyFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new CapstanError('CAPSTAN_REQUEST_INVALID', `cannot read --body-file ${file}: ${fsReason(err)}`, { cause: err, fields: { path: file } });
  }
}

/** Reads `{ variants: [...], dataCapture: {...} }` from a YAML or JSON file. */
function readConfigFile(file: string): EndpointConfigInput {
  let doc: unknown;
  try {
    doc = parseUserYaml(readFileSync(file, 'utf8'), file);
  } catch (err) {
    if (isCapstanError(err)) throw err;
    throw new CapstanError('CAPSTAN_REQUEST_INVALID', `cannot read ${file}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
  if (!doc || typeof doc !== 'object' || !Array.isArray((doc as EndpointConfigInput).variants)) {
    throw new CapstanError('CAPSTAN_SERVING_ENDPOINT_CONFIG_INVALID', `${file} must hold { variants: [...], dataCapture: {...} }`);
  }
  return doc as EndpointConfigInput;
}

/** `--allow-unapproved <reason>`: the admin override of the approval gate, recorded with the endpoint. */
function overrideOf(o: { allowUnapproved?: string }): ServingActionContext {
  return o.allowUnapproved === undefined ? {} : { allowUnapproved: { reason: o.allowUnapproved } };
}

const ALLOW_UNAPPROVED = 'admin only: deploy versions that are not Approved, recording this reason with the endpoint';

function parseWeights(value: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of value.split(',')) {
    const [name, w] = part.split('=');
    const n = Number(w);
    if (!name || w === undefined || !Number.isFinite(n) || n < 0) throw new CapstanError('CAPSTAN_REQUEST_INVALID', `--weights must look like blue=90,green=10, got ${JSON.stringify(value)}`);
    out[name.trim()] = n;
  }
  return out;
}

/**
 * The describe text. Workers, in-flight requests and restarts exist only in the process serving the
 * endpoint: they are columns when that process answered (`--url`, or this process serves it), and
 * otherwise a note says where to see them instead of empty cells. Traffic is the configured share.
 */
function describeText(ep: Endpoint): string {
  const head = [
    `endpoint:    ${ep.name}`,
    `status:      ${ep.status}${ep.statusReason ? ` (${ep.statusReason})` : ''}`,
    `generation:  ${ep.generation}`,
    `traffic:     ${ep.trafficPolicy.kind}`,
    `capture:     ${ep.dataCapture.enabled ? `${ep.dataCapture.samplingPercent}% of requests` : 'off'}`,
    `updated:     ${ep.updatedAt}`,
    '',
  ];
  const served = ep.variants.some((v) => v.live);
  const totalWeight = ep.variants.reduce((sum, v) => sum + v.weight, 0);
  const rows = ep.variants.map((v) => ({
    variant: v.name,
    model: v.multiModel ? `multi-model ${v.multiModel.source}` : `${v.resolved.name}/${v.resolved.version}`,
    weight: v.weight,
    traffic: `${v.live ? v.live.trafficPercent : totalWeight > 0 ? Math.round((v.weight / totalWeight) * 10000) / 100 : 0}%`,
    ...(served
      ? { workers: `${v.live?.workers ?? 0}/${v.instances}`, 'in-flight': v.live?.inFlight ?? 0, restarts: v.live?.workerRestarts ?? 0 }
      : { instances: v.instances }),
    batch: v.batching.maxBatchSize > 1 ? `${v.batching.maxBatchSize}/${v.batching.maxDelayMs}ms` : 'off',
  }));
  const note = served ? '' : '\n\nworkers, in-flight requests and restarts live in the serving process: add --url <server> to see them';
  const overrides = ep.approvalOverrides.length
    ? `\n\nunapproved deploys:\n${table(ep.approvalOverrides.map((o) => ({ at: o.at, model: `${o.model}/${o.version}`, approval: o.approval, variant: o.variant, by: o.actor, reason: o.reason })))}`
    : '';
  return head.join('\n') + table(rows) + overrides + note;
}

function addVariantFlags(cmd: Command): Command {
  return cmd
    .option('--instances <n>', 'worker threads for the variant; default 1', positiveInt('--instances'))
    .option('--max-batch-size <rows>', 'dynamic batching: rows per model call; default 1 (off)', positiveInt('--max-batch-size'))
    .option('--max-delay-ms <ms>', 'dynamic batching: wait for company; default 0', positiveInt('--max-delay-ms'))
    .option('--intra-op-threads <n>', 'ONNX Runtime intra-op threads; default 1', positiveInt('--intra-op-threads'))
    .option('--inter-op-threads <n>', 'ONNX Runtime inter-op threads; default 1', positiveInt('--inter-op-threads'))
    .option('--timeout-ms <ms>', 'model timeout, 504 after; default 60000', positiveInt('--timeout-ms'))
    .option('--url <url>', 'external model server (http models)')
    .option('--interpreter <python>', 'Python interpreter of python models (default python3)')
    .option('--handler-option <key=value>', 'handler option, repeatable (e.g. unknownIds=popularity)', collect)
    .option('--data-capture <percent>', 'capture this share of requests and responses', percent)
    .option('--json', 'print JSON');
}

/** Human output of an invocation: a ranking table when the answer has items and scores, else the body. */
function invokeText(body: string): string {
  try {
    const parsed = JSON.parse(body) as { items?: unknown[]; scores?: number[] };
    if (Array.isArray(parsed.items) && Array.isArray(parsed.scores)) {
      return table(parsed.items.map((item, i) => ({ rank: i + 1, item, score: parsed.scores![i] })));
    }
    return JSON.stringify(parsed, null, 2);
  } catch {
    return body;
  }
}

/** `capstan endpoints create|update|describe|stats|models|list|delete|invoke|deploy`: real-time endpoints. */
export const endpointsCommand: CommandModule = (program: Command) => {
  const endpoints = program.command('endpoints').description('real-time endpoints: production variants, blue/green deploys, invocations');

  addMultiModelFlags(addVariantFlags(
    endpoints
      .command('create <name>')
      .description('create an endpoint serving one model (--model), many models chosen per request (--multi-model) or the variants in --file')
      .option('--model <ref>', 'models:/ncf/3 or models:/ncf@champion')
      .option('--variant <name>', 'variant name; default primary')
      .option('--file <file>', 'YAML/JSON with { variants: [...], dataCapture: {...} }')
      .option('--allow-unapproved <reason>', ALLOW_UNAPPROVED),
  )).action(async (name: string, _opts, cmd: Command) => {
    const o = allOptions<VariantFlags & MultiModelFlags>(cmd);
    const multiModel = multiModelFromFlags(o);
    let input: EndpointConfigInput;
    if (o.file) input = readConfigFile(o.file);
    else if (multiModel) input = { variants: [{ ...variantSettings(o), name: o.variant, model: multiModel.source, multiModel }] };
    else if (o.model) input = { variants: [{ ...variantSettings(o), name: o.variant, model: o.model }] };
    else throw new CapstanError('CAPSTAN_REQUEST_INVALID', 'give --model <ref>, --multi-model <source> or --file <config>');
    if (capture(o)) input.dataCapture = capture(o);
    const ep = await withService(cmd, access, (s) => s.create(name, input, overrideOf(o)));
    printResult(cmd, ep, () => describeText(ep));
  });

  addStrategyFlags(endpoints
    .command('update <name>')
    .description('change weights (--weights), variants (--file) or data capture blue/green; with --strategy, move to the --file variants step by step under alarms')
    .option('--weights <list>', 'e.g. blue=90,green=10')
    .option('--file <file>', 'YAML/JSON with the new { variants: [...] }')
    .option('--data-capture <percent>', 'capture this share of requests and responses; 0 turns it off', percent)
    .option('--traffic-policy <kind>', `how requests choose a variant: ${TRAFFIC_POLICY_KINDS.join(' or ')}`, trafficPolicyKind)
    .option('--allow-unapproved <reason>', ALLOW_UNAPPROVED)
    .option('--json', 'print JSON'))
    .action(async (name: string, _opts, cmd: Command) => {
      const o = allOptions<VariantFlags & StrategyFlags & { weights?: string; trafficPolicy?: TrafficPolicyKind }>(cmd);
      const file = o.file ? readConfigFile(o.file) : undefined;
      const rollout = policyFromFlags(o, (file as { deploymentPolicy?: never } | undefined)?.deploymentPolicy);
      if (rollout) {
        if (!file) throw new CapstanError('CAPSTAN_REQUEST_INVALID', '--strategy with update needs the new variants in --file');
        const d = await withService(cmd, rolloutsAccess, (s) => s.start(name, { variants: file.variants, policy: rollout, force: o.force }, overrideOf(o)));
        return printResult(cmd, d, () => deploymentText(d));
      }
      const policy = o.trafficPolicy ? { kind: o.trafficPolicy } : file?.trafficPolicy;
      const ep = await withService(cmd, access, (s) =>
        s.update(
          name,
          {
            ...(file ? { variants: file.variants } : {}),
            ...(o.weights ? { weights: parseWeights(o.weights) } : {}),
            ...(capture(o) || file?.dataCapture ? { dataCapture: capture(o) ?? file?.dataCapture } : {}),
            ...(policy ? { trafficPolicy: policy } : {}),
          },
          overrideOf(o),
        ),
      );
      printResult(cmd, ep, () => describeText(ep));
    });

  endpoints
    .command('describe <name>')
    .description("status, each variant's pinned model version, weight, live traffic share and workers")
    .option('--json', 'print JSON')
    .action(async (name: string, _opts, cmd: Command) => {
      const ep = await withService(cmd, access, (s) => s.describe(name));
      printResult(cmd, ep, () => describeText(ep));
    });

  endpoints
    .command('stats <name>')
    .description("each variant's requests, errors and latency percentiles over a recent window, from every serving process")
    .option('--window <duration>', 'how far back: 90s, 5m, 1h; default 5m', windowMs)
    .option('--json', 'print JSON')
    .action(async (name: string, _opts, cmd: Command) => {
      const o = allOptions<{ window?: number }>(cmd);
      const stats = await withService(cmd, access, (s) => s.variantStats(name, o.window !== undefined ? { windowMs: o.window } : {}));
      printResult(cmd, stats, () => statsText(stats));
    });

  addModelsCommand(endpoints, access);

  endpoints
    .command('list')
    .description('list endpoints')
    .option('--json', 'print JSON')
    .action(async (_opts, cmd: Command) => {
      const list = await withService(cmd, access, (s) => s.list());
      printResult(cmd, list, () =>
        table(list.map((e) => ({ name: e.name, status: e.status, variants: e.variants.map((v) => `${v.name}=${v.multiModel ? v.multiModel.source : `${v.resolved.name}/${v.resolved.version}`}@${v.weight}`).join(' '), updated: e.updatedAt }))),
      );
    });

  endpoints
    .command('delete <name>')
    .description('delete an endpoint; in-flight requests finish first')
    .option('--json', 'print JSON')
    .action(async (name: string, _opts, cmd: Command) => {
      await withService(cmd, access, (s) => s.delete(name));
      printResult(cmd, { deleted: name }, () => `deleted endpoint ${name}`);
    });

  endpoints
    .command('invoke <name>')
    .description('send one request, e.g. --body \'{"user":[0,0,0],"item":[1,2,3]}\'')
    .option('--body <text>', 'request body')
    .option('--body-file <file>', 'read the request body from a file')
    .option('--content-type <type>', 'default application/json')
    .option('--target-variant <name>', 'send to this variant regardless of weights')
    .option('--target-model <name>', 'the model of a multi-model variant: ncf/3, ncf@champion or a folder under its prefix')
    .option('--inference-id <id>', 'id recorded with captured data')
    .option('--custom-attributes <text>', 'passed to the model handler')
    .option('--json', 'print JSON')
    .action(async (name: string, _opts, cmd: Command) => {
      const o = allOptions<{ body?: string; bodyFile?: string; contentType?: string; targetVariant?: string; targetModel?: string; inferenceId?: string; customAttributes?: string }>(cmd);
      const body = o.bodyFile ? readBodyFile(o.bodyFile) : o.body;
      if (body === undefined) throw new CapstanError('CAPSTAN_REQUEST_INVALID', 'give --body <text> or --body-file <file>');
      const res = await withService(cmd, access, (s) => s.invoke(name, body, { contentType: o.contentType, targetVariant: o.targetVariant, targetModel: o.targetModel, inferenceId: o.inferenceId, customAttributes: o.customAttributes }));
      let parsed: unknown = res.body;
      try {
        parsed = JSON.parse(res.body);
      } catch {
        // not JSON: print as text
      }
      printResult(cmd, { variant: res.variant, ...(res.model ? { model: res.model } : {}), contentType: res.contentType, body: parsed }, () => `variant: ${res.variant}${res.model ? `\nmodel: ${res.model}` : ''}\n${invokeText(res.body)}`);
    });

  addStrategyFlags(addVariantFlags(
    endpoints
      .command('deploy <name>')
      .description('create the endpoint serving --model, or switch it to that model blue/green (zero failed requests); with --strategy, step by step under alarms')
      .requiredOption('--model <ref>', 'models:/ncf/4 or models:/ncf@champion')
      .option('--variant <name>', 'variant name; default the current one, or primary')
      .option('--allow-unapproved <reason>', ALLOW_UNAPPROVED),
  )).action(async (name: string, _opts, cmd: Command) => {
    const o = allOptions<VariantFlags & StrategyFlags>(cmd);
    const rollout = policyFromFlags(o);
    if (rollout) {
      const settings = { ...variantSettings(o), ...(o.variant ? { variant: o.variant } : {}) };
      const d = await withService(cmd, rolloutsAccess, (s) => s.start(name, { model: o.model!, settings, policy: rollout, force: o.force }, overrideOf(o)));
      return printResult(cmd, d, () => deploymentText(d));
    }
    const options: DeployOptions = { ...variantSettings(o), ...(o.variant ? { variant: o.variant } : {}), ...(capture(o) ? { dataCapture: capture(o) } : {}) };
    const result = await withService(cmd, access, (s) => s.deploy(name, o.model!, options, overrideOf(o)));
    printResult(cmd, result, () => `${result.action} endpoint ${name}: now serving ${result.model.name}/${result.model.version}\n\n${describeText(result.endpoint)}`);
  });
};
