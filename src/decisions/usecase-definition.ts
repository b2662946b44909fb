/**
 * The shape of a use-case definition as users write it (YAML or JSON), before it is compiled. Each
 * optional field documents its default; `compileUseCase` validates a definition and fills them in.
 */

/** What a task does when it fails or times out: `fail` fails the decision; `default` uses `default` as its output and marks the task. */
export type FailurePolicy = 'fail' | 'default';

/** Settings every task shares. */
export interface TaskCommon {
  /** Unique within the use case; rules and other tasks refer to its output as `tasks.<name>`. */
  name: string;
  /** One attempt's time limit; default 1000 ms. */
  timeoutMs?: number;
  /** Further attempts after a failure or timeout; default 0. */
  retries?: number;
  /** Default `fail`. */
  onFailure?: FailurePolicy;
  /** The output used when `onFailure: default`; default null. */
  default?: unknown;
  /** Tasks that must finish first besides those its expressions name; default none. */
  after?: string[];
}

/** Invokes a Capstan endpoint in-process. `request` is a CEL expression building the JSON body; `output` (CEL over `response`) picks what rules see (default the whole response). */
export interface EndpointTask extends TaskCommon {
  type: 'endpoint';
  endpoint: string;
  /** Targets one variant; default the endpoint's traffic policy. */
  variant?: string;
  request: string;
  output?: string;
}

/** Reads online features for one entity; `entity` maps each join key to a CEL expression. Output: `{ <feature>: value }` keyed by the part after `:`. */
export interface FeaturesTask extends TaskCommon {
  type: 'features';
  features: string[];
  entity: Record<string, string>;
}

/** Earlier decisions for the same subject: output `{ count, outcomes, records: [{ id, outcome, output, tasks, time }] }`, newest first (`tasks`: each task's output then). */
export interface LookupTask extends TaskCommon {
  type: 'lookup';
  /** Default this use case. */
  usecase?: string;
  /** Most records read; default 10. */
  limit?: number;
  /** Only records this recent; default no limit. */
  withinMs?: number;
}

/** Calls an external HTTP model (POST JSON) through the outbound URL guard. */
export interface HttpTask extends TaskCommon {
  type: 'http';
  url: string;
  request: string;
  output?: string;
}

/** Computes a CEL expression over the input, thresholds and earlier tasks. */
export interface CelTask extends TaskCommon {
  type: 'cel';
  expression: string;
}

/** Any task. */
export type TaskDefinition = EndpointTask | FeaturesTask | LookupTask | HttpTask | CelTask;

/** One CEL rule: when `when` holds, it yields `outcome` and `reason`. */
export interface CelRule {
  name: string;
  when: string;
  outcome: string;
  reason?: string;
}

/**
 * Rules written in CEL. `first` (default): the first matching rule decides; `collect`: every matching
 * rule contributes a reason, and the most severe outcome (earliest in `severity`) wins.
 */
export interface CelRules {
  engine: 'cel';
  hitPolicy?: 'first' | 'collect';
  rules: CelRule[];
  /** Outcome when no rule matches. */
  default: { outcome: string; reason?: string };
  /** Most severe first; default [reject, decline, review, approve]. */
  severity?: string[];
  /** Output fields: name → CEL expression; default none. */
  output?: Record<string, string>;
}

/** Rules as a JDM decision graph (GoRules ZEN); its result must carry `outcome`, may carry `reasons`; the rest is output. */
export interface JdmRules {
  engine: 'jdm';
  graph: { nodes: unknown[]; edges: unknown[] };
}

/** Alert thresholds of a use case, checked over a sliding window. */
export interface AlertsDefinition {
  /** Errored decisions / all; default none. */
  errorRate?: number;
  /** 99th percentile latency bound; default none. */
  p99Ms?: number;
  /** Window; default 300000 ms. */
  windowMs?: number;
  /** Fewest decisions in the window before alerting; default 20. */
  minDecisions?: number;
  /** Slack-compatible incoming webhook URL. */
  slackUrl?: string;
  /** Generic webhook URL, signed per Standard Webhooks when `webhookSecret` is set. */
  webhookUrl?: string;
  /** `whsec_…` secret the generic webhook is signed with; shown masked by `describe`. */
  webhookSecret?: string;
}

/** A use-case definition as written. */
export interface UseCaseDefinition {
  name: string;
  description?: string;
  input: {
    /** JSON Schema of the decision input (an object). */
    schema: Record<string, unknown>;
    /** An example input, shown in the API document; default none. */
    example?: unknown;
    /** CEL over `input` giving the subject the decision is about (records are looked up by it); default none. */
    subject?: string;
  };
  /** Named parameters the rules use as `thresholds.<name>`; default none. */
  thresholds?: Record<string, number | string | boolean>;
  tasks?: TaskDefinition[];
  rules: CelRules | JdmRules;
  /** Overall deadline of one decision; default 5000 ms. */
  deadlineMs?: number;
  /** How long records are kept; default 90 days. */
  retentionDays?: number;
  alerts?: AlertsDefinition;
}
