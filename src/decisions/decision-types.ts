/** Records and results the decision service answers with. */
import type { DecisionSnapshot } from './run-decision.js';
import type { UseCaseDefinition } from './usecase-definition.js';

/** A use case: its latest, active and challenger versions. */
export interface UseCaseSummary {
  name: string;
  latestVersion: number;
  /** The version that answers calls; null while every version is a draft. */
  activeVersion: number | null;
  /** The version that runs in shadow on live traffic; null for none. */
  challengerVersion: number | null;
  createdAt: string;
  updatedAt: string;
}

/** One stored version of a use case. */
export interface UseCaseVersion {
  usecase: string;
  version: number;
  digest: string;
  createdBy: string;
  createdAt: string;
  definition: UseCaseDefinition;
}

/** What `apply` did. */
export interface ApplyResult {
  usecase: UseCaseSummary;
  version: number;
  /** False when the definition equals the latest version (nothing new stored). */
  created: boolean;
}

/** One decision as stored. */
export interface DecisionRecord {
  id: string;
  usecase: string;
  version: number;
  /** `champion`: the answer the caller got; `challenger`: a shadow evaluation of the same call. */
  role: 'champion' | 'challenger';
  subject: string | null;
  /** `ok`, or `error` when a task's policy or the rules failed the decision. */
  status: 'ok' | 'error';
  outcome: string | null;
  reasons: string[];
  output: Record<string, unknown>;
  latencyMs: number;
  time: string;
  snapshot: DecisionSnapshot;
}

/** The answer to a decision call. */
export interface DecisionResult {
  id: string;
  usecase: string;
  version: number;
  subject: string | null;
  outcome: string;
  reasons: string[];
  output: Record<string, unknown>;
  /** Tasks that failed and answered with their default. */
  defaulted: string[];
  latencyMs: number;
}

/** Filters of a record search; every field optional. */
export interface DecisionQuery {
  usecase?: string;
  subject?: string;
  outcome?: string;
  status?: 'ok' | 'error';
  role?: 'champion' | 'challenger';
  version?: number;
  /** ISO time, inclusive. */
  since?: string;
  /** ISO time, exclusive. */
  until?: string;
  /** Page: records with ids before this one. */
  before?: string;
  /** Default 100, at most 1000. */
  limit?: number;
}

/** An async decision request and, once finished, its record. */
export interface DecisionRequestStatus {
  id: string;
  usecase: string;
  status: 'queued' | 'done' | 'failed';
  recordId: string | null;
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
  record?: DecisionRecord;
}

/** Options of a replay. */
export interface ReplayOptions {
  /** The version whose rules and thresholds re-evaluate the records. */
  version: number;
  /** ISO time range of records to replay (champion records of the use case); `until` default now. */
  since: string;
  until?: string;
  /** Most examples listed per change; default 10. */
  examples?: number;
  /** Most records replayed; default 100000. */
  limit?: number;
  /** Worker threads replaying pages; default, when the range holds 20,000 records or more, one fewer than the cores (at most 4; none on two cores), else none (0 or 1: this thread). */
  threads?: number;
}

/** What a replay found. */
export interface ReplayReport {
  usecase: string;
  version: number;
  since: string;
  until: string;
  records: number;
  /** Records the version could not re-evaluate from the snapshot (a task it needs was not recorded, or the record was an error). */
  skipped: number;
  unchanged: number;
  changed: number;
  /** Records whose outcome stayed but whose reasons or output fields differ. */
  detailsChanged: number;
  /** `from → to` → count. */
  transitions: Record<string, number>;
  examples: { id: string; from: string | null; to: string | null; reasons: string[] }[];
  /** Outcome rates before and after. */
  before: Record<string, number>;
  after: Record<string, number>;
  recordsPerSecond: number;
}

/** Champion and challenger outcome rates over a window. */
export interface ChallengerComparison {
  usecase: string;
  since: string;
  champion: { version: number | null; decisions: number; outcomes: Record<string, number> };
  challenger: { version: number | null; decisions: number; outcomes: Record<string, number> };
  /** Decisions where both ran and their outcomes differ. */
  disagreements: number;
}
