import type {
  ApplyResult,
  ChallengerComparison,
  DecisionQuery,
  DecisionRecord,
  DecisionRequestStatus,
  DecisionResult,
  ReplayOptions,
  ReplayReport,
  UseCaseSummary,
  UseCaseVersion,
} from './decision-types.js';

/** Options of `apply`. */
export interface ApplyOptions {
  /** Makes the applied version the active one; default false (a draft). */
  activate?: boolean;
  /** Who applies, recorded with the version; default `local`. */
  actor?: string;
}

/** Options of `activate`. */
export interface ActivateOptions {
  /** Runs the version in shadow beside the active one instead of making it active; default false. */
  challenger?: boolean;
}

/** Where and how an async decision's result is announced. */
export interface DecisionCallback {
  url: string;
  /** `whsec_…` Standard Webhooks secret; default a new one, returned once. */
  secret?: string;
}

/** A use case as the API documents it: its active version's input schema and description. */
export interface DocumentedUseCase {
  name: string;
  version: number;
  description?: string;
  inputSchema: Record<string, unknown>;
  /** An example input, when the definition gives one (`input.example`). */
  inputExample?: unknown;
  /** The outcomes the rules can yield, when they are listed (CEL rules); undefined for a JDM graph. */
  outcomes?: string[];
  /** Output field names, when known (CEL rules). */
  outputFields?: string[];
}

/**
 * The decision service: versioned use cases, decisions (sync and async), their records, replay and
 * champion/challenger. `platform.context('decisions')` and the HTTP client implement it alike.
 */
export interface DecisionService {
  /** Validates and stores a definition as the next version (unless unchanged); refuses bad definitions, unknown task references, cycles and blocked URLs. */
  apply(definition: unknown, options?: ApplyOptions): Promise<ApplyResult>;
  /** Makes a version active (or the shadow challenger); `version: null` with `challenger` stops the shadow, without it retires the use case (no active version or challenger; versions and records stay). */
  activate(usecase: string, version: number | null, options?: ActivateOptions): Promise<UseCaseSummary>;
  /** Every use case. */
  useCases(): Promise<UseCaseSummary[]>;
  /** One version's definition; default the active (else latest) version. */
  describe(usecase: string, version?: number): Promise<UseCaseVersion & { summary: UseCaseSummary }>;
  /** Runs one decision with the active version and stores its record. */
  decide(usecase: string, input: unknown): Promise<DecisionResult>;
  /** Validates the input, queues the decision and answers at once; the result is read with `request` and announced to `callback`. */
  decideAsync(usecase: string, input: unknown, callback?: DecisionCallback): Promise<DecisionRequestStatus & { callbackSecret?: string }>;
  /** An async request's state and, once done, its record. */
  request(id: string): Promise<DecisionRequestStatus>;
  /** Records, newest first. */
  records(query: DecisionQuery): Promise<DecisionRecord[]>;
  /** One record with its snapshot. */
  record(id: string): Promise<DecisionRecord>;
  /** Re-evaluates stored snapshots against a version's rules and thresholds, without model calls. */
  replay(usecase: string, options: ReplayOptions): Promise<ReplayReport>;
  /** Champion and challenger outcome rates since a time. */
  compare(usecase: string, since: string): Promise<ChallengerComparison>;
  /** Active use cases with their input schemas, for the API document. */
  documented(): Promise<DocumentedUseCase[]>;
}
