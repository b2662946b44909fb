import { Counter, Histogram, type Registry } from 'prom-client';

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Prometheus metrics of decisions: calls by use case, role, status and outcome; latency; inputs refused by the schema. */
export class DecisionMetrics {
  private readonly decisions: Counter<'usecase' | 'role' | 'status' | 'outcome'>;
  private readonly latency: Histogram<'usecase' | 'role'>;
  /** Calls refused because the input did not match the schema (nothing else is stored for them). */
  readonly rejected: Counter<'usecase'>;

  constructor(registry: Registry) {
    const get = <T>(name: string, make: () => T): T => (registry.getSingleMetric(name) as T | undefined) ?? make();
    this.decisions = get('capstan_decisions_total', () => new Counter({ name: 'capstan_decisions_total', help: 'Decisions made and recorded', labelNames: ['usecase', 'role', 'status', 'outcome'], registers: [registry] }));
    this.latency = get('capstan_decision_latency_seconds', () => new Histogram({ name: 'capstan_decision_latency_seconds', help: 'Time from input to recorded outcome', labelNames: ['usecase', 'role'], buckets: BUCKETS, registers: [registry] }));
    this.rejected = get('capstan_decisions_rejected_total', () => new Counter({ name: 'capstan_decisions_rejected_total', help: 'Decision calls refused because the input did not match the schema', labelNames: ['usecase'], registers: [registry] }));
  }

  /** Counts one recorded decision. */
  observe(usecase: string, role: string, status: string, outcome: string | null, latencyMs: number): void {
    this.decisions.inc({ usecase, role, status, outcome: outcome ?? '' });
    this.latency.observe({ usecase, role }, latencyMs / 1000);
  }
}
