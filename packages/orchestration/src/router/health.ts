// The health the router reads on every decision, kept current by events so that reading it costs nothing: the
// Python pool's live workers and queue (its telemetry, corrected by pool.stats() in the background) and the
// native LM client's circuit breaker (lm_breaker events, and CircuitOpen errors seen on calls).

import type { PythonPool } from '@dspex/python-bridge';
import type { BreakerState, LMTelemetry } from 'dspex';

/** The Router's view of a Python pool: ready workers, queue depth, and whether it is blocked after saturation or a closed pool. */
export class PoolHealth {
  /** Workers able to take calls (optimistic until the first refresh). */
  ready: number;
  queued = 0;
  /** Set when a call saw PoolSaturated / QueueTimeout / PoolClosed; the side counts as blocked until then. */
  private blockedUntil = 0;
  private blockedWhy: 'python_saturated' | 'python_pool_down' = 'python_saturated';
  private readonly saturatedAt: number;
  private readonly detachers: Array<() => void> = [];

  constructor(
    private readonly pool: PythonPool,
    saturation: number,
  ) {
    this.ready = pool.options.size;
    this.saturatedAt = Math.max(1, Math.floor(pool.options.maxQueue * saturation));
    const t = pool.telemetry;
    const onQueue = ({ queued }: { queued: number }): void => void (this.queued = queued);
    const onDispatch = (): void => void (this.queued = Math.max(0, this.queued - 1));
    const onStart = (): void => void (this.ready = Math.min(this.pool.options.size, this.ready + 1));
    const onExit = (): void => void (this.ready = Math.max(0, this.ready - 1));
    t.on('queue', onQueue);
    t.on('queue_wait', onDispatch);
    t.on('worker_start', onStart);
    t.on('worker_exit', onExit);
    this.detachers.push(() => (t.off('queue', onQueue), t.off('queue_wait', onDispatch), t.off('worker_start', onStart), t.off('worker_exit', onExit)));
  }

  /** Why the Python side should not be used now, or null when it may. */
  blocked(now: number): 'python_saturated' | 'python_pool_down' | null {
    if (now < this.blockedUntil) return this.blockedWhy;
    if (this.ready === 0) return 'python_pool_down';
    if (this.queued >= this.saturatedAt) return 'python_saturated';
    return null;
  }

  /** A call failed because of the pool itself: avoid it for `forMs` (or until a refresh says otherwise). */
  block(why: 'python_saturated' | 'python_pool_down', now: number, forMs: number): void {
    this.blockedWhy = why;
    this.blockedUntil = now + forMs;
  }

  /** Reads the pool's own stats (the exact figures the events approximate). */
  async refresh(): Promise<void> {
    const stats = await this.pool.stats();
    this.ready = stats.ready;
    this.queued = stats.queued;
    if (stats.queued < this.saturatedAt && stats.ready > 0) this.blockedUntil = 0;
  }

  detach(): void {
    for (const detach of this.detachers.splice(0)) detach();
  }
}

/** The watched LM client's breaker, as its lm_breaker events and CircuitOpen errors report it. */
export class BreakerHealth {
  state: BreakerState = 'closed';
  private openUntil = 0;
  private readonly detach: () => void;

  constructor(client: string | undefined, telemetry: LMTelemetry | undefined) {
    if (client === undefined || telemetry === undefined) {
      this.detach = () => undefined;
      return;
    }
    const onBreaker = (event: { client: string; to: BreakerState }): void => {
      if (event.client !== client) return;
      this.state = event.to;
      this.openUntil = 0;
    };
    telemetry.on('lm_breaker', onBreaker);
    this.detach = () => void telemetry.off('lm_breaker', onBreaker);
  }

  open(now: number): boolean {
    return this.state === 'open' || now < this.openUntil;
  }

  /** A call failed with CircuitOpen: the breaker is open for about its cooldown, whatever events say later. */
  sawOpen(now: number, cooldownMs: number): void {
    this.openUntil = now + cooldownMs;
  }

  close(): void {
    this.detach();
  }
}
