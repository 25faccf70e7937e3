// Telemetry events of the runtime, emitted on `runtime.telemetry` (an eventemitter3 bus). Events are only
// built when someone listens, so an unobserved runtime pays nothing for them.

import type { Pid } from './process.js';
import type { ExitReason } from './reasons.js';

/** The events of `rt.telemetry` and their payloads (eventemitter3 types). */
export interface TelemetryEvents {
  spawn: [event: { pid: Pid; label: string | null }];
  exit: [event: { pid: Pid; reason: ExitReason; label: string | null }];
  crash_report: [event: { pid: Pid; reason: ExitReason; label: string | null }];
  message_dropped: [event: { to: Pid; message: unknown }];
  mailbox_high_water: [event: { pid: Pid; length: number }];
  /** A supervisor restarted a child. */
  restart: [event: { supervisor: Pid; childId: unknown; reason: ExitReason; pid: Pid | null }];
  /** A child failed to start or to restart. */
  start_error: [event: { supervisor: Pid; childId: unknown; reason: ExitReason }];
  /** A supervisor gave up (restart intensity reached, or auto_shutdown) and is shutting down. */
  supervisor_shutdown: [event: { supervisor: Pid; reason: 'reached_max_restart_intensity' | 'auto_shutdown'; childId: unknown }];
  /** A child did not stop as its shutdown spec asked (killed after a timeout, or exited with another reason). */
  shutdown_error: [event: { supervisor: Pid; childId: unknown; reason: ExitReason }];
  /** A runtime-internal hook threw; the runtime carried on. */
  internal_error: [event: { error: unknown; pid: Pid }];
}

/** The name of a telemetry event: `rt.telemetry.on(name, listener)`. */
export type TelemetryEventName = keyof TelemetryEvents;
