// The protocol between a pool's PoolManager and its PythonWorkers, in one place: the casts a worker sends its
// manager (up, draining, startup failed) and the manager's calls and casts, the message the manager sends a
// worker (close a session), and a worker's exit reason with the classification of how its OS process ended.

import type { Pid } from '@dspex/runtime';
import type { CrashKind, WorkerStartupFailed } from './errors.js';
import type { Job } from './job.js';

/** Casts to the manager: from PythonPool (submit, settled) and from its workers (workerUp, draining, startupFailed). */
export type ManagerCast =
  | { submit: Job }
  | { settled: Job }
  | { workerUp: { pid: Pid; id: string; osPid: number; lane: WorkerLane } }
  | { draining: Pid }
  | { startupFailed: WorkerStartupFailed };

/** Calls to the manager, from PythonPool. */
export type ManagerCall = { stats: true } | { rebuildSession: string } | { closeSession: string; whenIdle?: () => void };

/** A worker's direct lane: `open()` says whether it can write a job's frame now; `run` writes it (runJob). */
export interface WorkerLane {
  open(): boolean;
  run(job: Job): void;
}

/** Sent by the manager when a session expired: free its Python objects. */
export class CloseSession {
  constructor(readonly session: string) {}
}

/** The exit reason of a worker that ended on its own terms: how it died, in words. */
export interface WorkerExit {
  /** `rssMb` and `limitMb` come with kind 'memory'. */
  worker: { kind: CrashKind; detail: string; rssMb?: number; limitMb?: number };
}

/** Whether an exit reason is a WorkerExit (a worker that ended on its own terms). */
export function isWorkerExit(reason: unknown): reason is WorkerExit {
  return typeof reason === 'object' && reason !== null && 'worker' in reason && typeof (reason as WorkerExit).worker?.kind === 'string';
}

/** How a worker died, read from its exit reason: its own classification, else killed from outside. */
export function crashOf(reason: unknown): WorkerExit['worker'] {
  return isWorkerExit(reason) ? reason.worker : { kind: 'killed', detail: `the worker process exited: ${String(reason)}` };
}

/** The exit reason a worker stops with. */
export function exitWith(kind: CrashKind, detail: string, memory?: { rssMb: number; limitMb: number }): WorkerExit {
  return { worker: { kind, detail, ...memory } };
}

/** Maps how the OS process ended to a crash kind: SIGKILL killed, SIGSEGV segfault, SIGABRT abort, 137 oom. */
export function classifyPortExit(reason: unknown): { kind: CrashKind; detail: string } {
  if (typeof reason === 'object' && reason !== null) {
    if ('signal' in reason) {
      const signal = String((reason as { signal: string }).signal);
      const kind: CrashKind = signal === 'SIGKILL' ? 'killed' : signal === 'SIGSEGV' || signal === 'SIGBUS' ? 'segfault' : signal === 'SIGABRT' ? 'abort' : 'killed';
      return { kind, detail: signal };
    }
    if ('exitStatus' in reason) {
      const code = Number((reason as { exitStatus: number }).exitStatus);
      if (code === 3) return { kind: 'protocol', detail: 'the worker exited on a protocol error (exit code 3)' };
      if (code === 137) return { kind: 'oom', detail: 'exit code 137 (killed for memory)' };
      return { kind: 'exit', detail: `exit code ${code}` };
    }
  }
  return { kind: 'exit', detail: reason === 'normal' ? 'exited with code 0' : String(reason) };
}
