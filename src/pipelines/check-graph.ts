import { checkConditionType } from './conditions.js';
import { stepOutputs, type PipelineDefinition } from './definition.js';
import type { DefinitionChecker, DocPath } from './definition-checker.js';
import { buildGraph, conditionSteps, findCycle, referenceFields } from './graph.js';
import { collectReferences } from './references.js';

/** Checks references, dependencies, branches and cycles once every step is known. */
export function checkGraph(c: DefinitionChecker, def: PipelineDefinition): void {
  const index = new Map(def.steps.map((s, i) => [s.name, i]));
  for (const [i, s] of def.steps.entries()) {
    const at: DocPath = ['steps', i];
    for (const d of s.dependsOn) if (!index.has(d)) c.issue([...at, 'depends_on'], `depends on unknown step "${d}"`);
    if (s.type === 'condition') {
      for (const b of ['then', 'else'] as const) for (const n of s[b]) if (!index.has(n)) c.issue([...at, b], `names unknown step "${n}"`);
      for (const n of conditionSteps(s.if)) if (!index.has(n)) c.issue([...at, 'if'], `reads unknown step "${n}"`);
      const typeProblem = checkConditionType(s.if, def.parameters);
      if (typeProblem) c.issue([...at, 'if'], typeProblem);
    }
    if (s.type === 'register-model') for (const n of s.metricsFrom ?? []) if (!index.has(n)) c.issue([...at, 'metrics_from'], `names unknown step "${n}"`);
    for (const { path: sub, ref } of collectReferences(referenceFields(s))) {
      const where = [...at, ...sub];
      if (typeof ref === 'string') c.issue(where, ref);
      else if (ref.kind === 'param' && !(ref.name in def.parameters)) c.issue(where, `${ref.text} names an undeclared parameter "${ref.name}"`);
      else if ('step' in ref) {
        const target = def.steps[index.get(ref.step) ?? -1];
        if (!target) c.issue(where, `${ref.text} refers to unknown step "${ref.step}"`);
        else if (ref.step === s.name) c.issue(where, `${ref.text} refers to the step itself`);
        else if (ref.kind === 'output' && !stepOutputs(target).includes(ref.name)) c.issue(where, `${ref.text}: step "${ref.step}" declares no output "${ref.name}"`);
        else if (ref.kind === 'property' && !(target.type === 'function' || target.type === 'register-model' || target.type === 'deploy' || target.type === 'transform' || ('propertyFiles' in target && target.propertyFiles.some((f) => f.name === ref.path[0])))) {
          c.issue(where, `${ref.text}: step "${ref.step}" declares no property file "${ref.path[0]}"`);
        }
      }
    }
  }
  for (const [i, t] of def.triggers.entries()) {
    if (t.type === 'artifact' && def.parameters[t.parameter]?.type !== 'string') c.issue(['triggers', i, 'parameter'], `must name a declared string parameter; "${t.parameter}" is not one`);
    for (const k of Object.keys(t.params)) if (!(k in def.parameters)) c.issue(['triggers', i, 'params', k], `names an undeclared parameter "${k}"`);
  }
  if (c.issues.length) return;
  const graph = buildGraph(def.steps);
  const cycle = findCycle(graph.dependencies);
  if (cycle) c.issue(['steps', index.get(cycle[0])!], `the steps form a cycle: ${cycle.join(' -> ')}`);
}
