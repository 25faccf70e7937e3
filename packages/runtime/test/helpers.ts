// Shared test helpers: a silent runtime, a "test process" that plays the role of `self()` in the OTP suites
// (it traps exits and keeps what it receives for Erlang-style selective receive), and telemetry waiters.
// Tests wait on these events; none of them sleeps or polls.

import { pino } from 'pino';
import { formatReason } from '../src/errors.js';
import { Down, Exit, type ExitReason } from '../src/reasons.js';
import { Runtime, type RuntimeOptions } from '../src/runtime.js';
import type { Pid, ProcessContext } from '../src/process.js';
import type { TelemetryEventName, TelemetryEvents } from '../src/telemetry.js';

/** The pid of an { ok: pid } start result; fails the test on { ignore } or { error }. */
export function okPid(result: unknown): Pid {
  if (typeof result !== 'object' || result === null || !('ok' in result)) throw new Error(`expected { ok: pid }, got ${formatReason(result)}`);
  return (result as { ok: Pid }).ok;
}

/** A runtime whose logger prints nothing (crash and supervisor reports are expected in these tests). */
export function silentRuntime(options: RuntimeOptions = {}): Runtime {
  return new Runtime({ logger: pino({ level: 'silent' }), ...options });
}

/** The test's own process: links, monitors and receives like the `self()` of an OTP test case. */
export interface TestProcess {
  readonly pid: Pid;
  /** Its context: pass it as the parent of start_link-style starts. */
  readonly self: ProcessContext;
  /** Erlang's receive: takes the first held message that matches, or waits for one. */
  receive<T = unknown>(match?: (message: unknown) => boolean): Promise<T>;
  /** Resolves once every message delivered to this process before the call is held (a FIFO barrier). */
  sync(): Promise<void>;
  /** Messages held right now (not yet taken by receive). Call sync() first to include everything sent so far. */
  held(): readonly unknown[];
  /** The reason of the next held EXIT from `pid` (OTP's check_exit_reason). */
  exitOf(pid: Pid): Promise<ExitReason>;
  /** Monitors `pid` and resolves to the reason in its DOWN message. */
  down(pid: Pid): Promise<ExitReason>;
}

class Barrier {}

export async function testProcess(rt: Runtime, options: { trapExit?: boolean } = {}): Promise<TestProcess> {
  const inbox: unknown[] = [];
  const waiters: Array<{ match: (m: unknown) => boolean; resolve: (m: unknown) => void }> = [];
  let ready!: (self: ProcessContext) => void;
  const started = new Promise<ProcessContext>((resolve) => (ready = resolve));
  const pid = rt.spawn(
    {
      init: (self: ProcessContext) => ready(self),
      receive: (message: unknown) => {
        const at = waiters.findIndex((w) => w.match(message));
        if (at >= 0) waiters.splice(at, 1)[0]!.resolve(message);
        else inbox.push(message);
      },
    },
    { trapExit: options.trapExit ?? true, label: 'test' },
  );
  const self = await started;
  const receive = <T>(match: (m: unknown) => boolean = () => true): Promise<T> => {
    const at = inbox.findIndex(match);
    if (at >= 0) return Promise.resolve(inbox.splice(at, 1)[0] as T);
    return new Promise<T>((resolve) => waiters.push({ match, resolve: resolve as (m: unknown) => void }));
  };
  return {
    pid,
    self,
    receive,
    async sync() {
      const barrier = new Barrier();
      rt.send(pid, barrier);
      await receive((m) => m === barrier);
    },
    held: () => inbox,
    async exitOf(from: Pid) {
      return (await receive<Exit>((m) => m instanceof Exit && m.from === from)).reason;
    },
    async down(target: Pid) {
      const ref = self.monitor(target);
      return (await receive<Down>((m) => m instanceof Down && m.ref === ref)).reason;
    },
  };
}

type EventOf<K extends TelemetryEventName> = TelemetryEvents[K][0];

/** The next `name` telemetry event that matches. Subscribe before causing the event. */
export function nextEvent<K extends TelemetryEventName>(rt: Runtime, name: K, match: (event: EventOf<K>) => boolean = () => true): Promise<EventOf<K>> {
  return new Promise((resolve) => {
    const listener = ((event: EventOf<K>) => {
      if (!match(event)) return;
      rt.telemetry.off(name, listener as never);
      resolve(event);
    }) as never;
    rt.telemetry.on(name, listener);
  });
}

/** Every `name` event from now on, in order, for event-log assertions; `stop()` unsubscribes. */
export function recordEvents<K extends TelemetryEventName>(rt: Runtime, name: K): { events: Array<EventOf<K>>; stop(): void } {
  const events: Array<EventOf<K>> = [];
  const listener = ((event: EventOf<K>) => events.push(event)) as never;
  rt.telemetry.on(name, listener);
  return { events, stop: () => rt.telemetry.off(name, listener) };
}

/** The exit reason of `pid`, from the runtime's exit telemetry (for processes the test does not link to). */
export function exitReasonOf(rt: Runtime, pid: Pid): Promise<ExitReason> {
  if (!rt.isAlive(pid)) return Promise.reject(new Error(`${pid} is already dead; subscribe before it exits`));
  return nextEvent(rt, 'exit', (e) => e.pid === pid).then((e) => e.reason);
}
