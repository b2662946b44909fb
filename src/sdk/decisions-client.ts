import type {
  ActivateOptions,
  ApplyOptions,
  ApplyResult,
  ChallengerComparison,
  DecisionCallback,
  DecisionQuery,
  DecisionRecord,
  DecisionRequestStatus,
  DecisionResult,
  DecisionService,
  DocumentedUseCase,
  ReplayOptions,
  ReplayReport,
  UseCaseSummary,
  UseCaseVersion,
} from '../decisions/index.js';
import type { HttpClient } from './http-client.js';

const uc = (name: string) => `/api/v1/decisions/usecases/${encodeURIComponent(name)}`;

/** The decision service over HTTP; the same interface as the local service. The server records the actor. */
export class DecisionsClient implements DecisionService {
  constructor(private readonly http: HttpClient) {}

  /** POST /api/v1/decisions/usecases */
  apply(definition: unknown, options: ApplyOptions = {}): Promise<ApplyResult> {
    return this.http.request<ApplyResult>('POST', '/api/v1/decisions/usecases', { body: { definition, ...(options.activate ? { activate: true } : {}) } });
  }

  /** POST /api/v1/decisions/usecases/{name}/activate */
  activate(usecase: string, version: number | null, options: ActivateOptions = {}): Promise<UseCaseSummary> {
    return this.http.request<UseCaseSummary>('POST', `${uc(usecase)}/activate`, { body: { version, ...(options.challenger ? { challenger: true } : {}) } });
  }

  /** GET /api/v1/decisions/usecases */
  async useCases(): Promise<UseCaseSummary[]> {
    return (await this.http.request<{ items: UseCaseSummary[] }>('GET', '/api/v1/decisions/usecases')).items;
  }

  /** GET /api/v1/decisions/usecases/{name} */
  describe(usecase: string, version?: number): Promise<UseCaseVersion & { summary: UseCaseSummary }> {
    return this.http.request('GET', uc(usecase), { query: { version } });
  }

  /** POST /api/v1/decisions/{usecase} */
  decide(usecase: string, input: unknown): Promise<DecisionResult> {
    return this.http.request<DecisionResult>('POST', `/api/v1/decisions/${encodeURIComponent(usecase)}`, { body: input });
  }

  /** POST /api/v1/decisions/{usecase}/async */
  decideAsync(usecase: string, input: unknown, callback?: DecisionCallback): Promise<DecisionRequestStatus & { callbackSecret?: string }> {
    return this.http.request('POST', `/api/v1/decisions/${encodeURIComponent(usecase)}/async`, { body: { input, ...(callback ? { callback } : {}) } });
  }

  /** GET /api/v1/decisions/requests/{id} */
  request(id: string): Promise<DecisionRequestStatus> {
    return this.http.request<DecisionRequestStatus>('GET', `/api/v1/decisions/requests/${encodeURIComponent(id)}`);
  }

  /** GET /api/v1/decisions */
  async records(query: DecisionQuery): Promise<DecisionRecord[]> {
    return (await this.http.request<{ items: DecisionRecord[] }>('GET', '/api/v1/decisions', { query: { ...query } })).items;
  }

  /** GET /api/v1/decisions/records/{id} */
  record(id: string): Promise<DecisionRecord> {
    return this.http.request<DecisionRecord>('GET', `/api/v1/decisions/records/${encodeURIComponent(id)}`);
  }

  /** POST /api/v1/decisions/usecases/{name}/replay */
  replay(usecase: string, options: ReplayOptions): Promise<ReplayReport> {
    return this.http.request<ReplayReport>('POST', `${uc(usecase)}/replay`, { body: options });
  }

  /** GET /api/v1/decisions/usecases/{name}/compare */
  compare(usecase: string, since: string): Promise<ChallengerComparison> {
    return this.http.request<ChallengerComparison>('GET', `${uc(usecase)}/compare`, { query: { since } });
  }

  /** Active use cases as documented: read from the API document's use-case operations. */
  async documented(): Promise<DocumentedUseCase[]> {
    const out: DocumentedUseCase[] = [];
    for (const s of await this.useCases()) {
      if (s.activeVersion === null) continue;
      const v = await this.describe(s.name, s.activeVersion);
      out.push({ name: s.name, version: s.activeVersion, description: v.definition.description, inputSchema: v.definition.input.schema });
    }
    return out;
  }
}
