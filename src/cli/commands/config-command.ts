import type { Command } from 'commander';
import { redactConfig, settings, settingsTable } from '../../core/config.js';
import { allOptions, configFrom, printResult } from '../cli-context.js';

function flatten(obj: Record<string, unknown>, prefix = ''): [string, unknown][] {
  return Object.entries(obj).flatMap(([k, v]) =>
    v && typeof v === 'object' && !Array.isArray(v) ? flatten(v as Record<string, unknown>, `${prefix}${k}.`) : [[`${prefix}${k}`, v] as [string, unknown]],
  );
}

/** `capstan config`: the resolved configuration (flags > env > capstan.yaml > defaults), secrets redacted. */
export function configCommand(program: Command): void {
  program
    .command('config')
    .description('print the resolved configuration with secrets redacted')
    .option('--docs', 'print every setting as the Markdown table of docs/configuration.md instead')
    .option('--json', 'print JSON')
    .action(async (_opts, cmd: Command) => {
      if (allOptions<{ docs?: boolean }>(cmd).docs) {
        printResult(cmd, settings, () => settingsTable());
        return;
      }
      const redacted = redactConfig(configFrom(cmd));
      const envOf = new Map(settings.map((s) => [s.path, s.env]));
      printResult(cmd, redacted, () => {
        const rows = flatten(redacted).map(([k, v]) => [k, v === undefined ? '(unset)' : Array.isArray(v) ? v.join(',') || '(none)' : String(v), envOf.get(k) ?? '']);
        const width = Math.max(...rows.map((r) => r[0].length));
        const valueWidth = Math.max(...rows.map((r) => r[1].length));
        return rows.map(([k, v, env]) => `${k.padEnd(width)}  ${v.padEnd(valueWidth)}  ${env}`.trimEnd()).join('\n');
      });
    });
}
