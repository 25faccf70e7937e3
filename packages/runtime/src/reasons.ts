// Exit reasons and the system messages that carry them (EXIT for trapped links, DOWN for monitors).
// Reasons follow OTP: 'normal', 'shutdown', { shutdown: detail }, 'kill' (sent) seen as 'killed',
// 'noproc'; anything else (an Error, a string, an object) is abnormal.

/** Any value can be an exit reason; these are the ones with meaning to the runtime. */
export type ExitReason = unknown;

/** OTP's `{shutdown, Detail}`: a deliberate stop that is not a crash. */
export interface ShutdownWithDetail {
  readonly shutdown: unknown;
}

/**
 * The exit reason `{ shutdown: detail }`: a clean stop that carries a detail (no crash report, no restart of
 * a transient child).
 */
export const shutdownWith = (detail: unknown): ShutdownWithDetail => ({ shutdown: detail });

export function isShutdownWithDetail(reason: unknown): reason is ShutdownWithDetail {
  return typeof reason === 'object' && reason !== null && 'shutdown' in reason && Object.keys(reason).length === 1;
}

/** `shutdown` or `{ shutdown: detail }`. */
export function isShutdown(reason: unknown): boolean {
  return reason === 'shutdown' || isShutdownWithDetail(reason);
}

/**
 * proc_lib's rule: these reasons are a normal termination and produce no crash report, and a transient
 * child that exits with one of them is not restarted.
 */
export function isNormalExit(reason: unknown): boolean {
  return reason === 'normal' || isShutdown(reason);
}

/** A monitor reference; printable as `#Ref<0.N>`. */
export class Ref {
  constructor(readonly id: number) {}
  toString(): string {
    return `#Ref<0.${this.id}>`;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

/** Printable identity of a process: what `Pid` values print as, `<0.N.0>`. */
export interface PidLike {
  readonly id: number;
  toString(): string;
}

/** Delivered to a process that traps exits when a linked process exits, or when it is sent an exit signal. */
export class Exit {
  readonly kind = 'EXIT' as const;
  constructor(readonly from: PidLike, readonly reason: ExitReason) {}
}

/** Delivered to the owner of a monitor when the monitored process exits (reason 'noproc' if it never lived). */
export class Down {
  readonly kind = 'DOWN' as const;
  constructor(readonly ref: Ref, readonly pid: PidLike, readonly reason: ExitReason) {}
}

/** Returned by a selective receive that timed out: the `after` clause. */
export const TIMEOUT: unique symbol = Symbol('timeout');
/** The type of TIMEOUT, what `self.receive(match, timeoutMs)` resolves to when nothing matched in time. */
export type Timeout = typeof TIMEOUT;
