import type { SqlPipelineStore } from './sql-pipeline-store.js';

/**
 * Holds one execution's lease for a runner: takes it with a fresh token, renews it every third of
 * its length, and declares it lost — calling `onLost` once — when the token was taken over, or when
 * no renewal has succeeded for two thirds of the lease (the database is unreachable). The second
 * case is judged on this process's clock, not on an answer from the database, so a runner cut off
 * from the database stops its attempts before the lease can expire and another runner start them
 * again (docs/decisions/0006-pipeline-attempt-fencing.md).
 */
export class LeaseKeeper {
  private tokenValue: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastRenewed = 0;
  private lastTried = 0;
  private renewing = false;
  private lostReason: string | undefined;

  constructor(
    private readonly store: SqlPipelineStore,
    private readonly id: string,
    private readonly owner: string,
    private readonly leaseMs: number,
    private readonly onLost: (reason: string) => void,
  ) {}

  /** The lease token every write of this runner carries (set once `take` succeeded). */
  get token(): string {
    if (!this.tokenValue) throw new Error('the lease was not taken');
    return this.tokenValue;
  }

  /** Why the lease was lost, or undefined while it is held. */
  get lost(): string | undefined {
    return this.lostReason;
  }

  /** Takes the claimed lease with a fresh token and starts renewing; false when the claim is gone. */
  async take(): Promise<boolean> {
    const started = Date.now();
    this.tokenValue = await this.store.takeLease(this.id, this.owner, this.leaseMs);
    if (!this.tokenValue) return false;
    this.lastRenewed = this.lastTried = started;
    this.timer = setInterval(() => this.tick(), Math.max(20, Math.floor(this.leaseMs / 6)));
    return true;
  }

  /** Stops renewing (the runner is done with the execution). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    const now = Date.now();
    if (now - this.lastRenewed >= (this.leaseMs * 2) / 3) return this.lose(`no lease renewal succeeded for ${now - this.lastRenewed} ms`);
    if (this.renewing || now - this.lastTried < this.leaseMs / 3) return;
    this.renewing = true;
    this.lastTried = now;
    void this.store.renew(this.id, this.token, this.leaseMs).then(
      (ok) => {
        // The new expiry counts from when the request was sent.
        if (ok) this.lastRenewed = Math.max(this.lastRenewed, now);
        else this.lose('another scheduler took the lease over');
      },
      () => {
        // Unreachable database: the next tick tries again; two thirds of a lease without success loses it.
      },
    ).finally(() => {
      this.renewing = false;
    });
  }

  private lose(reason: string): void {
    if (this.lostReason) return;
    this.lostReason = reason;
    this.stop();
    this.onLost(reason);
  }
}
