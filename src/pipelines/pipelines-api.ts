import { readFile } from 'node:fs/promises';
import { listCodeFiles } from './code-snapshot.js';
import type { PipelineDefinition } from './definition.js';
import type { ExecutionRecord, ExecutionState, LogLine, PipelineRecord } from './execution.js';
import type { LogSearch } from './log-store.js';
import { parsePipelineYaml } from './pipeline-source.js';
import type { ApplyResult, PipelineDescription, PipelineService } from './pipeline-service.js';

/** A definition file as the CLI hands it over. */
export interface DefinitionInput {
  yaml: string;
  /** File name for error messages. */
  file: string;
  /** Directory relative paths (`code`) resolve against. */
  baseDir: string;
}

/** The pipeline operations the CLI uses; implemented locally and by the HTTP client. */
export interface PipelinesApi {
  validate(input: DefinitionInput): Promise<PipelineDefinition>;
  apply(input: DefinitionInput): Promise<ApplyResult>;
  list(): Promise<PipelineRecord[]>;
  describe(name: string): Promise<PipelineDescription>;
  start(name: string, params: Record<string, unknown>, by: string): Promise<ExecutionRecord>;
  /** Resolves when the execution has ended (locally it is run in this process when nobody else runs it). */
  wait(id: string): Promise<ExecutionRecord>;
  execution(id: string): Promise<ExecutionRecord>;
  executions(filter: { pipeline?: string; state?: ExecutionState; limit?: number }): Promise<ExecutionRecord[]>;
  cancel(id: string): Promise<ExecutionRecord>;
  logs(id: string, step?: string): Promise<LogLine[]>;
  search(search: LogSearch): Promise<LogLine[]>;
}

/** The embedded implementation over a PipelineService. */
export function localPipelinesApi(svc: PipelineService): PipelinesApi {
  return {
    validate: async (i) => svc.validate(parsePipelineYaml(i.yaml, i.file, i.baseDir)),
    apply: (i) => svc.apply(parsePipelineYaml(i.yaml, i.file, i.baseDir)),
    list: () => svc.list(),
    describe: (name) => svc.describe(name),
    start: (name, params, by) => svc.start(name, { params, trigger: { type: 'manual', by } }),
    wait: (id) => svc.wait(id),
    execution: (id) => svc.execution(id),
    executions: (f) => svc.executions(f),
    cancel: (id) => svc.cancel(id),
    logs: (id, step) => svc.executionLogs(id, { step }),
    search: (s) => svc.searchLogs(s),
  };
}

/**
 * Reads a code directory into `relative path → base64` for applying over HTTP: the same files, skips
 * and refusals as the embedded snapshot, so both hash the same code; `shown` is the directory as the
 * definition names it, for errors.
 */
export async function readCodeFiles(dir: string, shown = dir): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of await listCodeFiles(dir, shown)) out[f.rel] = (await readFile(f.abs)).toString('base64');
  return out;
}
