// StateMachine: OTP's gen_statem role, with an xstate v5 machine as the state logic. The machine's actor lives
// inside a GenServer: messages and casts become events, a machine error crashes the process (so links,
// monitors and supervisors see it), and a final state stops the process with reason 'normal'.

import { createActor, type AnyActor, type AnyStateMachine, type EventObject, type InputFrom, type StateValue } from 'xstate';
import type { ChildSpec } from './child_spec.js';
import { GenServer, type Caller, type GenServerBehavior, type NoReplyResult, type StartOptions, type StartResult } from './gen_server.js';
import type { Dest, Pid, ProcessContext } from './process.js';
import { asProcess } from './runtime.js';

/** Options of StateMachine.start and startLink. */
export interface StateMachineOptions<TMachine extends AnyStateMachine> {
  /** The machine's input (createActor's `input`). */
  input?: InputFrom<TMachine>;
  /** Register the process under this name. */
  name?: string;
  /** Gets a MachineEmitted for every event the machine emits (xstate `emit`), and a MachineDone at its end. */
  notify?: Dest;
  label?: string;
}

/** An event the machine emitted with xstate's `emit` action, sent to `notify`. */
export class MachineEmitted<TEmitted extends EventObject = EventObject> {
  readonly kind = 'MACHINE_EMITTED' as const;
  constructor(readonly machine: Pid, readonly event: TEmitted) {}
}

/**
 * Sent to `notify` when the machine reaches a final state, just before the process exits 'normal'. The exit
 * reason stays 'normal' (so a transient child is not restarted); the machine's output travels here.
 */
export class MachineDone<TOutput = unknown> {
  readonly kind = 'MACHINE_DONE' as const;
  constructor(readonly machine: Pid, readonly output: TOutput) {}
}

/** What a message that is not an xstate event becomes: gen_statem's info event (a DOWN, an EXIT, anything). */
export interface InfoEvent {
  type: 'dspex.info';
  message: unknown;
}

/** A copy of the parts of the snapshot a caller can rely on. */
export interface MachineState<TContext = unknown, TOutput = unknown> {
  value: StateValue;
  context: TContext;
  status: 'active' | 'done' | 'error' | 'stopped';
  output: TOutput | undefined;
}

interface MachineSnapshotLike {
  value: StateValue;
  context: unknown;
  status: MachineState['status'];
  output?: unknown;
  error?: unknown;
}

interface ServerState {
  actor: AnyActor;
  notify: Dest | undefined;
}

interface ServerArgs {
  machine: AnyStateMachine;
  options: StateMachineOptions<AnyStateMachine>;
}

/** Wakes the server when the actor errs or finishes outside a handler (a delayed transition, an invoke). */
const SETTLED = Symbol('state_machine.settled');
const FINISHED_IN_INIT = Symbol('state_machine.finished_in_init');
const SNAPSHOT = Symbol('state_machine.snapshot');

/** A message -> an xstate event: event objects as they are, a string s as { type: s }, the rest as info. */
function toEvent(message: unknown): EventObject {
  if (typeof message === 'string') return { type: message };
  if (typeof message === 'object' && message !== null && typeof (message as { type?: unknown }).type === 'string') return message as EventObject;
  const info: InfoEvent = { type: 'dspex.info', message };
  return info;
}

function snapshotOf(actor: AnyActor): MachineSnapshotLike {
  return actor.getSnapshot() as MachineSnapshotLike;
}

/** After every event: an errored machine crashes the process, a finished one stops it normally. */
function settle(state: ServerState, self: ProcessContext): NoReplyResult<ServerState> {
  const snapshot = snapshotOf(state.actor);
  if (snapshot.status === 'error') return { stop: snapshot.error, state };
  if (snapshot.status === 'done') {
    if (state.notify !== undefined) {
      const target = self.runtime.resolve(state.notify);
      if (target !== undefined) self.send(target, new MachineDone(self.pid, snapshot.output));
    }
    return { stop: 'normal', state };
  }
  return { noreply: true, state };
}

function deliver(event: EventObject, state: ServerState, self: ProcessContext): NoReplyResult<ServerState> {
  state.actor.send(event);
  return settle(state, self);
}

const MachineServer: GenServerBehavior<ServerState, ServerArgs, typeof SNAPSHOT, MachineState, EventObject> = {
  init({ machine, options }, self) {
    const rt = self.runtime;
    const actor = createActor(machine, options.input === undefined ? {} : { input: options.input });
    const state: ServerState = { actor, notify: options.notify };
    // An error observer also keeps xstate from rethrowing the error on a timer, outside any process.
    const wake = (): void => void self.send(self.pid, SETTLED);
    actor.subscribe({ error: wake, complete: wake });
    const notify = options.notify;
    if (notify !== undefined) {
      actor.on('*', (emitted: EventObject) => {
        const target = rt.resolve(notify);
        if (target !== undefined) rt.send(target, new MachineEmitted(self.pid, emitted));
      });
    }
    rt.watch(asProcess(self.pid), () => actor.stop()); // delayed events and invoked actors stop with the process
    actor.start();
    const snapshot = snapshotOf(actor);
    if (snapshot.status === 'error') return { stop: snapshot.error };
    if (snapshot.status === 'done') return { ok: state, continue: FINISHED_IN_INIT };
    return { ok: state };
  },

  handleCall(_request, _from, state) {
    const snapshot = snapshotOf(state.actor);
    return { reply: { value: snapshot.value, context: snapshot.context, status: snapshot.status, output: snapshot.output }, state };
  },

  handleCast(event, state, self) {
    return deliver(toEvent(event), state, self);
  },

  handleInfo(message, state, self) {
    if (message === SETTLED) return settle(state, self);
    return deliver(toEvent(message), state, self);
  },

  handleContinue(_arg, state, self) {
    return settle(state, self);
  },
};

function startOptions(machine: AnyStateMachine, options: StateMachineOptions<AnyStateMachine>): StartOptions {
  return { ...(options.name === undefined ? {} : { name: options.name }), label: options.label ?? `state_machine:${machine.id}` };
}

/** The gen_statem role: an xstate v5 machine run as a process; every message is an event. */
export const StateMachine = {
  /**
   * Starts `machine` in a process not linked to anyone. Resolves to { ok: pid }, or { error: reason } when
   * the machine errs while starting (an entry action that throws).
   */
  start<TMachine extends AnyStateMachine>(caller: Caller, machine: TMachine, options: StateMachineOptions<TMachine> = {}): Promise<StartResult> {
    return GenServer.start(caller, MachineServer, { machine, options }, startOptions(machine, options));
  },

  /** Starts `machine` in a process linked to `parent` (a supervisor, or the owner of the workflow). */
  startLink<TMachine extends AnyStateMachine>(parent: ProcessContext, machine: TMachine, options: StateMachineOptions<TMachine> = {}): Promise<StartResult> {
    return GenServer.startLink(parent, MachineServer, { machine, options }, startOptions(machine, options));
  },

  /**
   * Sends an event to the machine (a cast: no reply; dropped if the process is gone). A string is sent as
   * { type: string }. A plain `send` of the same event to the pid does the same.
   */
  send<TEvent extends EventObject = EventObject>(caller: Caller, machine: Dest, event: TEvent | TEvent['type']): void {
    GenServer.cast(caller, machine, event);
  },

  /**
   * The machine's current value, context, status and output. Rejects like GenServer.call: NoProcError,
   * CallExitError, CallTimeoutError after `timeoutMs` (default 5000).
   */
  snapshot<TContext = unknown, TOutput = unknown>(caller: Caller, machine: Dest, timeoutMs = 5000): Promise<MachineState<TContext, TOutput>> {
    return GenServer.call<MachineState<TContext, TOutput>>(caller, machine, SNAPSHOT, timeoutMs);
  },

  /** A child spec that starts the machine under a supervisor. Use restart 'transient' for a machine that ends. */
  childSpec<TMachine extends AnyStateMachine>(id: string, machine: TMachine, options: StateMachineOptions<TMachine> = {}, spec: Omit<ChildSpec, 'id' | 'start'> = {}): ChildSpec {
    return { ...spec, id, start: (parent) => StateMachine.startLink(parent, machine, options) };
  },
};
