import type { Command } from 'commander';
import { CapstanError } from '../../core/errors.js';
import type { EndpointModels, EndpointService, MultiModelInput } from '../../serving/index.js';
import { printResult, table, withService, type ServiceAccess } from '../cli-context.js';

/** The multi-model flags of `endpoints create`. */
export interface MultiModelFlags {
  multiModel?: string;
  memoryBudget?: number;
  maxModels?: number;
  loadWaitMs?: number;
}

function count(flag: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw new CapstanError('CAPSTAN_REQUEST_INVALID', `${flag} must be a non-negative integer, got ${JSON.stringify(value)}`);
    return Number(value);
  };
}

/** `--memory-budget`: bytes, or with a KiB/MiB/GiB suffix (`512MiB`). */
function bytes(value: string): number {
  const m = /^(\d+)\s*(B|KiB|MiB|GiB)?$/i.exec(value.trim());
  if (!m) throw new CapstanError('CAPSTAN_REQUEST_INVALID', `--memory-budget must be bytes or a size such as 512MiB, got ${JSON.stringify(value)}`);
  const unit = (m[2] ?? 'b').toLowerCase();
  return Number(m[1]) * ({ b: 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 }[unit] ?? 1);
}

/** Adds `--multi-model <source>` and its cache limits to a command. */
export function addMultiModelFlags(cmd: Command): Command {
  return cmd
    .option('--multi-model <source>', 'a multi-model variant: models:/<group> (targets ncf/3, ncf@champion) or artifacts:/<prefix> (targets: its folders)')
    .option('--memory-budget <size>', 'multi-model: estimated bytes of resident models (e.g. 512MiB); default 1GiB', bytes)
    .option('--max-models <n>', 'multi-model: resident models at most; default 32', count('--max-models'))
    .option('--load-wait-ms <ms>', 'multi-model: longest wait for a load before 429 + Retry-After; default 5000', count('--load-wait-ms'));
}

/** The `multiModel` block the flags describe, or undefined without `--multi-model`. */
export function multiModelFromFlags(o: MultiModelFlags): MultiModelInput | undefined {
  if (o.multiModel === undefined) {
    if (o.memoryBudget !== undefined || o.maxModels !== undefined || o.loadWaitMs !== undefined) throw new CapstanError('CAPSTAN_REQUEST_INVALID', '--memory-budget, --max-models and --load-wait-ms need --multi-model <source>');
    return undefined;
  }
  return {
    source: o.multiModel,
    ...(o.memoryBudget !== undefined ? { memoryBudgetBytes: o.memoryBudget } : {}),
    ...(o.maxModels !== undefined ? { maxModels: o.maxModels } : {}),
    ...(o.loadWaitMs !== undefined ? { loadWaitMs: o.loadWaitMs } : {}),
  };
}

/** The `endpoints models` text: one block per multi-model variant, resident models most recently used first. */
function modelsText(m: EndpointModels): string {
  if (m.variants.length === 0) return `endpoint ${m.endpoint} has no multi-model variant`;
  return m.variants
    .map((v) => {
      const head = `variant ${v.variant} (${v.source}): ${v.models.length}/${v.maxModels} models, ${v.residentBytes}/${v.memoryBudgetBytes} bytes; hits ${v.hits}, misses ${v.misses}, loads ${v.loads}, failed loads ${v.loadFailures}, evictions ${v.evictions}, 429s ${v.notReady}${v.loading.length ? `; loading ${v.loading.join(', ')}` : ''}`;
      const rows = v.models.map((r) => ({ model: r.model, bytes: r.bytes, 'load ms': r.loadMs, hits: r.hits, invocations: r.invocations, errors: r.errors, 'last used': r.lastUsedAt }));
      return `${head}\n${table(rows)}`;
    })
    .join('\n\n');
}

/** `capstan endpoints models <name>`: what each multi-model variant has loaded. */
export function addModelsCommand(endpoints: Command, access: ServiceAccess<EndpointService>): void {
  endpoints
    .command('models <name>')
    .description('what each multi-model variant has loaded in the serving process (use --url <server> for a running server), with cache hits, loads and evictions')
    .option('--json', 'print JSON')
    .action(async (name: string, _opts, cmd: Command) => {
      const models = await withService(cmd, access, (s) => s.models(name));
      printResult(cmd, models, () => modelsText(models));
    });
}
