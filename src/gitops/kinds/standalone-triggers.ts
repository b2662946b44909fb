import { parse } from 'yaml';
import type { PipelineRecord, TriggerDefinition } from '../../pipelines/index.js';

/** Names of the triggers a pipeline's own document declares (`triggers:` in the applied source). */
export function inlineTriggerNames(p: PipelineRecord): Set<string> {
  if (!p.source) return new Set(p.definition.triggers.map((t) => t.name));
  try {
    const doc = parse(p.source) as { triggers?: { name?: unknown; type?: unknown }[] } | null;
    return new Set((doc?.triggers ?? []).map((t, i) => (typeof t?.name === 'string' ? t.name : `${String(t?.type)}-${i}`)));
  } catch {
    return new Set(p.definition.triggers.map((t) => t.name));
  }
}

/**
 * Triggers of a pipeline that `kind: Trigger` documents added: in its definition but not in its own
 * document. A Pipeline apply keeps them, so the two kinds never undo each other.
 */
export function standaloneTriggers(p: PipelineRecord): TriggerDefinition[] {
  const inline = inlineTriggerNames(p);
  return p.definition.triggers.filter((t) => !inline.has(t.name));
}
