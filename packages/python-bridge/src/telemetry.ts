// Telemetry of the bridge: one eventemitter3 bus per pool (pool.telemetry). Events are built only when
// someone listens, so an unobserved pool pays nothing for them.

import { EventEmitter } from 'eventemitter3';
import type { CrashKind } from './errors.js';
import type { Job } from './job.js';
import type { WireError } from './wire.js';

/** Each telemetry event of a pool with its payload, for `pool.telemetry.on(name, listener)`. */
export interface BridgeTelemetryEvents {
  worker_start: [event: { pool: string; worker: string; osPid: number; coldStartMs: number }];
  /** `rssMb` and `limitMb` come with kind 'memory'. */
  worker_exit: [event: { pool: string; worker: string; kind: CrashKind | 'shutdown'; detail: string; rssMb?: number; limitMb?: number }];
  /** `saturated`: every thread stayed busy past cancelGraceMs with calls waiting, so the worker takes no new work. */
  worker_recycle: [event: { pool: string; worker: string; why: 'requests' | 'age' | 'rss' | 'saturated' }];
  heartbeat_miss: [event: { pool: string; worker: string; missed: number }];
  queue: [event: { pool: string; queued: number }];
  queue_wait: [event: { pool: string; command: string; waitMs: number }];
  call_done: [event: { pool: string; worker: string; command: string; durationMs: number; ok: boolean }];
  session_expired: [event: { pool: string; session: string }];
  /** Python freed a closed or expired session's objects (`objects` of them). */
  session_closed: [event: { pool: string; worker: string; session: string; objects: number }];
  session_close_failed: [event: { pool: string; worker: string; session: string; error: WireError }];
  orphans_swept: [event: { pool: string; pids: number[] }];
  /**
   * A worker cannot start because the pool's configuration is wrong: `setting` (python.commands, python.grant, ...)
   * and `entry` name it, `problem` says what is wrong; `message` is what Python raised. See WorkerStartupFailed.
   */
  worker_startup_failed: [
    event: { pool: string; worker: string; setting: string | undefined; entry: string | undefined; module: string | undefined; problem: string; pythonType: string; message: string; traceback: string },
  ];
}

/** The pool's event emitter (`pool.telemetry`): worker starts, exits and recycles, queue waits, finished calls, sessions; see BridgeTelemetryEvents. */
export class PoolTelemetry extends EventEmitter<BridgeTelemetryEvents> {
  emitQueueWait(pool: string, job: Job): void {
    if (this.listenerCount('queue_wait') === 0) return;
    this.emit('queue_wait', { pool, command: job.spec.command, waitMs: performance.now() - job.createdAt });
  }
}
