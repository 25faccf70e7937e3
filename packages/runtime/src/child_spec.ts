// Child specifications and the one shutdown procedure every supervisor uses (OTP supervisor:shutdown/2):
// monitor, unlink, send `shutdown` (or `kill`), wait for DOWN, escalate to `kill` after the timeout.

import { InvalidChildSpecError } from './errors.js';
import type { StartResult } from './gen_server.js';
import { Process, flushMessages, type Pid, type ProcessContext } from './process.js';
import { Exit, type ExitReason } from './reasons.js';
import { asProcess } from './runtime.js';

/** When a supervisor restarts a child: always (permanent), after an abnormal exit (transient), never (temporary). */
export type Restart = 'permanent' | 'transient' | 'temporary';
/** How a supervisor stops a child: kill at once, wait forever for it, or wait this many ms then kill. */
export type Shutdown = 'brutal_kill' | 'infinity' | number;
/** A worker, or a supervisor (stopped with shutdown infinity by default and shown as a subtree). */
export type ChildType = 'worker' | 'supervisor';

/** How to start a child and what to do when it exits. */
export interface ChildSpec {
  /** Unique within its supervisor. */
  id: string;
  /**
   * Starts the child linked to `parent` (the supervisor) and returns OTP's start result. Extra arguments
   * (simple_one_for_one, DynamicSupervisor) come after `parent`. A start that throws counts as { error }.
   */
  start: (parent: ProcessContext, ...extra: unknown[]) => StartResult | Promise<StartResult>;
  /** permanent (default): always restarted; transient: restarted after an abnormal exit; temporary: never. */
  restart?: Restart;
  /** brutal_kill, a timeout in ms (default 5000 for workers), or infinity (default for supervisors). */
  shutdown?: Shutdown;
  type?: ChildType;
  /** With auto_shutdown, the exit of a significant child can shut the supervisor down. */
  significant?: boolean;
}

/** A child spec with every default filled in. */
export interface NormalizedChildSpec extends Required<ChildSpec> {}

const RESTARTS: readonly Restart[] = ['permanent', 'transient', 'temporary'];

/** Checks a child spec and fills defaults; throws InvalidChildSpecError naming the bad field. */
export function normalizeChildSpec(spec: ChildSpec, options: { requireId?: boolean } = {}): NormalizedChildSpec {
  if (spec === null || typeof spec !== 'object') throw new InvalidChildSpecError(spec, 'a child spec must be an object with id and start.');
  const id = spec.id;
  if ((options.requireId ?? true) && (typeof id !== 'string' || id.length === 0)) {
    throw new InvalidChildSpecError(id, 'id must be a non-empty string.');
  }
  if (typeof spec.start !== 'function') throw new InvalidChildSpecError(id, 'start must be a function (parent, ...extra) => StartResult.');
  const restart = spec.restart ?? 'permanent';
  if (!RESTARTS.includes(restart)) throw new InvalidChildSpecError(id, `restart must be permanent, transient or temporary, not ${String(restart)}.`);
  const type = spec.type ?? 'worker';
  if (type !== 'worker' && type !== 'supervisor') throw new InvalidChildSpecError(id, `type must be worker or supervisor, not ${String(type)}.`);
  const shutdown = spec.shutdown ?? (type === 'supervisor' ? 'infinity' : 5000);
  if (shutdown !== 'brutal_kill' && shutdown !== 'infinity' && !(typeof shutdown === 'number' && Number.isInteger(shutdown) && shutdown >= 0)) {
    throw new InvalidChildSpecError(id, `shutdown must be brutal_kill, infinity or a non-negative integer of ms, not ${String(shutdown)}.`);
  }
  const significant = spec.significant ?? false;
  if (typeof significant !== 'boolean') throw new InvalidChildSpecError(id, 'significant must be a boolean.');
  if (significant && restart === 'permanent') {
    throw new InvalidChildSpecError(id, 'a significant child cannot be permanent; make it transient or temporary.');
  }
  return { id, start: spec.start, restart, shutdown, type, significant };
}

/** Runs a child's start function and turns a throw or a malformed return into { error }. */
export async function startChildProcess(parent: ProcessContext, spec: ChildSpec, extra: readonly unknown[] = []): Promise<StartResult> {
  let result: StartResult;
  try {
    result = await spec.start(parent, ...extra);
  } catch (error) {
    return { error };
  }
  if (result !== null && typeof result === 'object') {
    if ('ok' in result && result.ok instanceof Process) return result;
    if ('ignore' in result || 'error' in result) return result;
  }
  return { error: { badReturn: result } };
}

/** OTP's shutdown/2. Resolves to { ok } when the child exited as asked, else { error: reason }. */
export function shutdownChild(self: ProcessContext, pid: Pid, shutdown: Shutdown): Promise<{ ok: true } | { error: ExitReason }> {
  const child = asProcess(pid);
  const rt = child.runtime;
  self.unlink(child);
  if (!child.alive) {
    // It exited before we asked: its EXIT may sit in our mailbox; it is answered here, not later.
    flushMessages(asProcess(self.pid), (m) => m instanceof Exit && m.from === child);
    return Promise.resolve({ error: child.exitReason });
  }
  return new Promise((resolve) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let exited = false;
    let expected: ExitReason = shutdown === 'brutal_kill' ? 'killed' : 'shutdown';
    rt.watch(child, (reason) => {
      // A child that does not trap exits dies inside rt.exit below, before the timer exists: `exited` keeps
      // the timer from being armed then (it would hold the event loop for `shutdown` ms after the stop).
      exited = true;
      clearTimeout(timer);
      resolve(reason === expected ? { ok: true } : { error: reason });
    });
    if (shutdown === 'brutal_kill') {
      rt.exit(child, 'kill', self.pid);
      return;
    }
    rt.exit(child, 'shutdown', self.pid);
    if (shutdown !== 'infinity' && !exited) {
      timer = setTimeout(() => {
        expected = undefined; // killed after the timeout is a shutdown error, as in OTP
        rt.exit(child, 'kill', self.pid);
      }, shutdown);
    }
  });
}
