// A job is one call into Python on its way through a pool: queued by the manager, run by a worker,
// settled exactly once (result, Python exception, timeout, cancel, crash). Streams add a credit-based sink.

import type { Pid } from '@dspex/runtime';
import { CallCancelled } from './errors.js';
import type { CallTrace } from './tracing.js';

/** How a session's calls stick to its worker: `hint` (prefer it, move when it is busy or gone), `strict_queue` (wait for it), `strict_fail_fast` (WorkerBusy when it is busy). */
export type Affinity = 'hint' | 'strict_queue' | 'strict_fail_fast';

/** Per-call options of `pool.call`/`session.call`: `timeoutMs` (default the pool's `callTimeoutMs`), `signal` to cancel, `idempotent` to retry once on another worker if the worker dies. */
export interface CallOptions {
  /** Milliseconds the call may run in Python before it is cancelled with CallTimeout (default: the pool's). */
  timeoutMs?: number;
  /** Cancels the call, queued or running; the promise rejects with CallCancelled. */
  signal?: AbortSignal;
  /** Safe to run twice: if its worker dies mid-call it is retried once on another worker. */
  idempotent?: boolean;
}

export interface JobSpec {
  command: string;
  args: Record<string, unknown>;
  session: string | null;
  affinity: Affinity;
  timeoutMs: number;
  idempotent: boolean;
  signal: AbortSignal | undefined;
  /** Initial stream window (credits); present for streaming calls. */
  credits: number | undefined;
  /** Set on a traced call (an OpenTelemetry SDK is registered): its trace context and span sink (tracing.ts). */
  trace?: CallTrace;
}

export class Job {
  attempts = 0;
  /** The worker running it, set by the manager at dispatch; null while queued. */
  worker: Pid | null = null;
  settled = false;
  /** Set by the worker while the call runs there; used to cancel it in Python. */
  cancelInWorker: (() => void) | null = null;
  /** Chunks of a streaming call go here. */
  onChunk: ((value: unknown) => void) | null = null;
  /** Set by the worker for streaming calls: grants Python `n` more chunks. */
  grantCredits: ((n: number) => void) | null = null;
  private readonly onAbort: (() => void) | null = null;
  queueTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** The per-call timeout while it runs in a worker. */
  callTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  readonly createdAt = performance.now();
  /** Its place in the JobSet of the worker running it (manager side), and in its pool's outstanding jobs. */
  inflightIndex = -1;
  outstandingIndex = -1;
  /** Counted in its manager board's submitsInMailbox while its submit cast waits in the manager's mailbox. */
  countedInMailbox = false;

  constructor(
    readonly spec: JobSpec,
    private readonly resolveFn: (value: unknown) => void,
    private readonly rejectFn: (error: Error) => void,
    /** Called once when the job settles, whatever the outcome (the manager frees its slot). */
    private readonly onSettle: (job: Job) => void,
  ) {
    const signal = spec.signal;
    if (signal !== undefined) {
      this.onAbort = () => {
        this.cancelInWorker?.();
        this.reject(new CallCancelled(spec.command));
      };
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
  }

  resolve(value: unknown): void {
    if (this.finish()) this.resolveFn(value);
  }

  reject(error: Error): void {
    if (this.finish()) this.rejectFn(error);
  }

  private finish(): boolean {
    if (this.settled) return false;
    this.settled = true;
    if (this.queueTimer !== undefined) clearTimeout(this.queueTimer);
    if (this.callTimer !== undefined) clearTimeout(this.callTimer);
    if (this.onAbort !== null) this.spec.signal?.removeEventListener('abort', this.onAbort);
    this.onSettle(this);
    return true;
  }
}
