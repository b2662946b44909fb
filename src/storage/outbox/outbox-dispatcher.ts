import { writeFileSync } from 'node:fs';
import type { Logger } from '../../core/logger.js';
import { backoffDelay } from '../queue/retry-policy.js';
import type { OutboxHandler } from './outbox-event.js';
import type { ClaimedDelivery, OutboxStore } from './outbox-store.js';

/** Where the test-only crash hook kills the process: before a claimed delivery reaches its subscriber, or after it did but before the acknowledgement. */
export type OutboxCrashPoint = 'before-deliver' | 'after-deliver';

/** Dispatcher settings; every field has a default. */
export interface OutboxDispatcherOptions {
  /** Idle poll interval in ms (a local event, or on PostgreSQL a NOTIFY from any process, wakes it sooner); default 500. */
  pollMs?: number;
  /** Lease on a claimed delivery in ms; a crashed process's deliveries are claimed again after it; default 30000. */
  leaseMs?: number;
  /** Attempts before a delivery is `dead`; default 10. */
  maxAttempts?: number;
  /** First retry delay in ms (doubles, full jitter); default 1000. */
  backoffBaseMs?: number;
  /** Largest retry delay in ms; default 300000. */
  backoffMaxMs?: number;
  /** How long events are kept after they occurred, in ms; default 7 days. */
  retentionMs?: number;
  /** Deliveries claimed at once; default 20. */
  batch?: number;
  /**
   * TEST ONLY (`testing.outboxCrash`): write `marker` and SIGKILL this process at `point` of the first
   * delivery, so a test can prove a crash between commit and delivery loses nothing. Default none.
   */
  crash?: { point: OutboxCrashPoint; marker: string };
}

const HOUR = 3_600_000;

/**
 * Delivers outbox events to this process's named subscriptions (a BackgroundService: `capstan up`
 * and `capstan worker` run it). Any number of processes may run one: each delivery is claimed by
 * one of them under a lease, acknowledged after its handler returns, and retried with backoff when
 * the handler throws or the process dies first — at-least-once, so handlers dedupe on `event.id`.
 */
export class OutboxDispatcher {
  /** Shown in logs and in `capstan up` output. */
  readonly name = 'outbox-dispatcher';
  private readonly handlers = new Map<string, OutboxHandler>();
  private readonly o: Required<Omit<OutboxDispatcherOptions, 'crash'>> & Pick<OutboxDispatcherOptions, 'crash'>;
  private loop?: Promise<void>;
  private running = false;
  private wakeUp?: () => void;
  private timer?: NodeJS.Timeout;
  private lastPrune = 0;
  private unlisten?: () => Promise<void>;
  private listenFailed = false;
  private listening?: Promise<void>;
  private lastListenTry = 0;
  /** Set by a wake-up that came while the loop was busy, so it does not then sleep through it. */
  private woken = false;

  constructor(
    private readonly store: OutboxStore,
    private readonly logger: Logger,
    options: OutboxDispatcherOptions = {},
  ) {
    this.o = {
      pollMs: options.pollMs ?? 500,
      leaseMs: options.leaseMs ?? 30_000,
      maxAttempts: options.maxAttempts ?? 10,
      backoffBaseMs: options.backoffBaseMs ?? 1000,
      backoffMaxMs: options.backoffMaxMs ?? 300_000,
      retentionMs: options.retentionMs ?? 7 * 24 * HOUR,
      batch: options.batch ?? 20,
      crash: options.crash,
    };
  }

  /**
   * Registers a named subscription in the database (so every process appending a matching event
   * records a delivery for it) and serves it here. Subscriptions of the same name in several
   * processes share the work: each event reaches one of them.
   */
  async subscribe(name: string, patterns: readonly string[], handler: OutboxHandler): Promise<void> {
    await this.store.register(name, patterns);
    this.handlers.set(name, handler);
  }

  /** True while a PostgreSQL LISTEN wakes this dispatcher for appends committed by any process. */
  get listens(): boolean {
    return this.unlisten !== undefined;
  }

  /** Asks a running loop to look for work now (the platform calls it after a local commit). */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /** Claims and delivers one batch; returns how many deliveries it handled. */
  async dispatchOnce(): Promise<number> {
    const claims = await this.store.claim([...this.handlers.keys()], this.o.batch, this.o.leaseMs);
    for (const claim of claims) await this.deliver(claim);
    return claims.length;
  }

  /** Delivers until nothing is ready (at most `rounds` batches); tests and one-shot commands use it. */
  async drain(rounds = 100): Promise<void> {
    for (let i = 0; i < rounds; i++) if ((await this.dispatchOnce()) === 0) return;
  }

  private crashAt(point: OutboxCrashPoint, claim: ClaimedDelivery): void {
    if (this.o.crash?.point !== point) return;
    writeFileSync(this.o.crash.marker, JSON.stringify({ pid: process.pid, point, eventId: claim.event.id, subscription: claim.subscription }));
    process.kill(process.pid, 'SIGKILL');
  }

  private async deliver(claim: ClaimedDelivery): Promise<void> {
    const handler = this.handlers.get(claim.subscription);
    if (!handler) return;
    this.crashAt('before-deliver', claim);
    try {
      await handler(claim.event, { attempt: claim.attempt, subscription: claim.subscription });
    } catch (err) {
      const dead = claim.attempt >= this.o.maxAttempts;
      const retryAt = dead ? null : Date.now() + backoffDelay(claim.attempt, this.o.backoffBaseMs, this.o.backoffMaxMs);
      this.logger[dead ? 'error' : 'warn']({ err, event: claim.event.type, eventId: claim.event.id, subscription: claim.subscription, attempt: claim.attempt }, dead ? 'event subscriber failed for the last time; the delivery is dead' : 'event subscriber failed; the delivery will be retried');
      await this.store.fail(claim, err, retryAt);
      return;
    }
    this.crashAt('after-deliver', claim);
    if (!(await this.store.ack(claim))) {
      this.logger.warn({ event: claim.event.type, eventId: claim.event.id, subscription: claim.subscription }, 'an event delivery outlived its lease; it may be delivered again');
    }
  }

  private async pruneIfDue(): Promise<void> {
    if (Date.now() - this.lastPrune < HOUR) return;
    this.lastPrune = Date.now();
    const pruned = await this.store.prune(this.o.retentionMs);
    if (pruned.undelivered) this.logger.warn(pruned, 'removed outbox events past their retention that some subscription never took');
  }

  /**
   * On PostgreSQL, LISTENs for appends committed anywhere, so a delivery starts at once rather than
   * at the next poll; polling stays the fallback, and a broken listening connection is re-opened here.
   */
  private async ensureListening(): Promise<void> {
    if (this.unlisten || (this.listenFailed && Date.now() - this.lastListenTry < this.o.pollMs * 10)) return;
    this.lastListenTry = Date.now();
    try {
      const unlisten = await this.store.listen(
        () => this.wake(),
        (err) => {
          this.unlisten = undefined;
          this.logger.warn({ err }, 'lost the connection listening for outbox events; polling until it is back');
        },
      );
      if (!unlisten) return;
      if (!this.running) {
        await unlisten();
        return;
      }
      this.unlisten = unlisten;
      if (this.listenFailed) this.logger.info('listening for outbox events again');
      this.listenFailed = false;
    } catch (err) {
      if (!this.listenFailed) this.logger.warn({ err }, 'cannot listen for outbox events; polling');
      this.listenFailed = true;
    }
  }

  /** Starts the delivery loop. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        let handled = 0;
        this.woken = false;
        // In the background: opening a connection can hang through an outage, which polling rides out.
        this.listening ??= this.ensureListening().finally(() => (this.listening = undefined));
        try {
          await this.pruneIfDue();
          handled = await this.dispatchOnce();
        } catch (err) {
          this.logger.error({ err }, 'event dispatch failed; retrying');
        }
        if (handled > 0 || this.woken || !this.running) continue;
        await new Promise<void>((resolve) => {
          this.wakeUp = resolve;
          this.timer = setTimeout(resolve, this.o.pollMs);
        });
        clearTimeout(this.timer);
        this.wakeUp = undefined;
      }
    })();
  }

  /** Stops the loop after the delivery in flight; unacknowledged deliveries are claimed again after their lease. */
  async stop(): Promise<void> {
    this.running = false;
    this.wakeUp?.();
    await this.loop;
    this.loop = undefined;
    await this.listening;
    const unlisten = this.unlisten;
    this.unlisten = undefined;
    await unlisten?.();
  }
}
