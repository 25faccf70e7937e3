// What Supervisor and DynamicSupervisor share, in one place so the two cannot drift: the restart
// intensity (OTP's add_restart and its flag checks), which exits count as a clean shutdown of a child,
// and the supervisor reports and telemetry they emit.

import { BadArgumentError, formatReason } from './errors.js';
import { runtimeOf } from './gen_server.js';
import type { NormalizedChildSpec } from './child_spec.js';
import type { ProcessContext } from './process.js';
import { isNormalExit, isShutdown, type ExitReason } from './reasons.js';

/** OTP's validIntensity: an integer >= 0. `flag` names it in the error (intensity, maxRestarts). */
export function checkIntensity(flag: string, value: unknown): number {
  if (!Number.isInteger(value) || (value as number) < 0) throw new BadArgumentError(`${flag} must be a non-negative integer, not ${formatReason(value)}.`);
  return value as number;
}

/**
 * OTP's validPeriod (invalid_period): a positive, finite number of seconds. Infinity is refused as OTP
 * refuses it; to never give up, set the intensity high instead. Returns the period in ms.
 */
export function checkPeriod(flag: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || !(value > 0)) {
    throw new BadArgumentError(`invalid_period: ${flag} must be a positive, finite number of seconds, not ${formatReason(value)}.`);
  }
  return value * 1000;
}

/**
 * The restart intensity of one supervisor: add_restart keeps the restart times within the period (a restart
 * exactly `periodMs` ago still counts) and says whether this restart is still allowed.
 */
export class RestartIntensity {
  /** Clock times of recent restarts, oldest first. */
  private restarts: number[] = [];

  constructor(readonly intensity: number, readonly periodMs: number) {}

  /** Records a restart at `now`; false when it makes more than `intensity` within the period: give up. */
  add(now: number): boolean {
    this.restarts.push(now);
    let stale = 0;
    while (stale < this.restarts.length && now - this.restarts[stale]! > this.periodMs) stale++;
    if (stale > 0) this.restarts.splice(0, stale);
    return this.restarts.length <= this.intensity;
  }
}

/**
 * Whether a child that was asked to shut down and exited with `reason` (not the reason asked for) still
 * stopped cleanly. Dynamic children (DynamicSupervisor's wait_child, OTP's wait_dynamic_children): shutdown,
 * { shutdown: detail }, or normal for a non-permanent child; with brutal_kill only 'killed', which
 * shutdownChild already counts as asked. Static children (OTP's do_terminate): normal, shutdown or
 * { shutdown: detail } from a non-permanent child.
 */
export function stoppedCleanly(spec: NormalizedChildSpec, reason: ExitReason, dynamic: boolean): boolean {
  if (spec.shutdown === 'brutal_kill') return false;
  if (dynamic) return isShutdown(reason) || (reason === 'normal' && spec.restart !== 'permanent');
  return spec.restart !== 'permanent' && isNormalExit(reason);
}

export type ReportContext = 'start_error' | 'child_terminated' | 'shutdown' | 'shutdown_error';

/** A supervisor report (logged) and its telemetry, the same from both supervisors. */
export function supervisorReport(self: ProcessContext, context: ReportContext, childId: string | undefined, reason: ExitReason): void {
  const rt = runtimeOf(self);
  rt.logger.error(
    { supervisor_report: { supervisor: String(self.pid), context, childId, reason: formatReason(reason) } },
    `supervisor ${self.pid}: ${context} for child ${childId ?? '(dynamic)'}: ${formatReason(reason)}`,
  );
  if (context === 'start_error') rt.telemetry.emit('start_error', { supervisor: self.pid, childId, reason });
  if (context === 'shutdown_error') rt.telemetry.emit('shutdown_error', { supervisor: self.pid, childId, reason });
}

/** The supervisor gives up (restart intensity) or shuts itself down (auto_shutdown). */
export function supervisorShutdown(self: ProcessContext, reason: 'reached_max_restart_intensity' | 'auto_shutdown', childId: string | undefined): void {
  if (reason === 'reached_max_restart_intensity') supervisorReport(self, 'shutdown', childId, reason);
  runtimeOf(self).telemetry.emit('supervisor_shutdown', { supervisor: self.pid, reason, childId });
}
