import { Cron } from 'croner';
import type { TriggerDefinition } from './definition.js';
import { STEP_NAME, type DefinitionChecker, type DocPath } from './definition-checker.js';

/** The `triggers:` list of a pipeline document (cron, artifact, webhook), reporting what is wrong. */
export function compileTriggers(c: DefinitionChecker, raw: unknown): TriggerDefinition[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    c.issue(['triggers'], 'must be a list');
    return [];
  }
  const out: TriggerDefinition[] = [];
  for (const [i, t] of raw.entries()) {
    const at: DocPath = ['triggers', i];
    const o = c.obj(t, at, true);
    if (!o) continue;
    const name = c.str(o, 'name', at) ?? `${o.type}-${i}`;
    if (!STEP_NAME.test(name)) c.issue([...at, 'name'], 'trigger names use a-z, 0-9, _ and -');
    const params = c.obj(o.params, [...at, 'params']) ?? {};
    if (o.type === 'cron') {
      c.unknownKeys(o, ['name', 'type', 'schedule', 'timezone', 'params'], at);
      const schedule = c.str(o, 'schedule', at, true) ?? '';
      const timezone = c.str(o, 'timezone', at) ?? 'UTC';
      if (schedule) {
        try {
          new Cron(schedule, { timezone, paused: true }).nextRun();
        } catch (err) {
          c.issue([...at, /timezone/i.test((err as Error).message) ? 'timezone' : 'schedule'], (err as Error).message.split('. ')[0]);
        }
      }
      out.push({ name, type: 'cron', schedule, timezone, params });
    } else if (o.type === 'artifact') {
      c.unknownKeys(o, ['name', 'type', 'prefix', 'parameter', 'params'], at);
      out.push({ name, type: 'artifact', prefix: c.str(o, 'prefix', at, true) ?? '', parameter: c.str(o, 'parameter', at, true) ?? '', params });
    } else if (o.type === 'webhook') {
      c.unknownKeys(o, ['name', 'type', 'params'], at);
      out.push({ name, type: 'webhook', params });
    } else c.issue([...at, 'type'], 'must be cron, artifact or webhook');
  }
  return out;
}
