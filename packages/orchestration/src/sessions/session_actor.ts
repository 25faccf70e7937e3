// SessionActor: one GenServer per live session, started under the Sessions DynamicSupervisor and registered in
// the Sessions Registry under its id. It hydrates from the store in handleContinue (so starting is cheap and
// hydrations of different sessions overlap), runs one call at a time, and writes every change to the store
// before it replies: a reply means the turn is committed. Passivation and close stop it; nothing is lost,
// since nothing lives only here.

import { GenServer, type GenServerBehavior, type ProcessContext } from '@dspex/runtime';
import { StoreConflictError, type JsonValue, type Store } from '@dspex/store';
import type { PythonPool, Session as PythonSession, Affinity } from '@dspex/python-bridge';
import { Module, type CallOptions, type Fields, type LooseRecord } from 'dspex';
import { SessionConflictError, SessionProgramError } from './errors.js';
import { historyFieldOf, historyOf, type History, type JsonObject, type SessionTurnRecord } from './history.js';

/** What a session actor needs from its Sessions tree; fixed when the tree starts. */
export interface SessionsConfig {
  name: string;
  store: Store;
  /** Earlier turns kept in memory and passed as history (the newest ones). */
  historyTurns: number;
  ttlMs: number;
  maxLive: number;
  clock: () => number;
  python?: { pool: PythonPool; affinity?: Affinity };
  registryName: string;
  supervisorName: string;
  managerName: string;
}

/** What a function program gets besides its inputs. */
export interface SessionContext {
  readonly id: string;
  /** Earlier turns as DSPy's History (`{ messages }`), oldest first. */
  readonly history: History;
  readonly settings: Readonly<JsonObject>;
  readonly bound: Readonly<JsonObject>;
  /** Turns recorded before this one. */
  readonly turnCount: number;
  /** The session's Python session (worker affinity) on the pool given as `python.pool`; created on first use. */
  python(): PythonSession;
}

/** A program step of a session: a plain function of the inputs and the session context. */
export type SessionFunction = (inputs: JsonObject, context: SessionContext) => Promise<JsonObject> | JsonObject;

/** What sessions.call runs: a dspex Module (history passed as its `dspy.History` input) or a SessionFunction. */
export type SessionProgram = Module | SessionFunction;

/** A session as sessions.get returns it: a copy, safe to keep. */
export interface SessionSnapshot {
  id: string;
  /** The store's version: 0 for a session never written. */
  version: number;
  /** Turns recorded in all (the store's turn count). */
  turnCount: number;
  /** The newest `historyTurns` turns, oldest first. */
  turns: SessionTurnRecord[];
  settings: JsonObject;
  bound: JsonObject;
}

/** What sessions.update's function returns: the parts to replace (left out: kept). */
export interface SessionChanges {
  settings?: JsonObject;
  bound?: JsonObject;
}

export type SessionRequest =
  | { op: 'call'; program: SessionProgram; inputs: JsonObject; options: CallOptions }
  | { op: 'get' }
  | { op: 'update'; fn: (session: SessionSnapshot) => SessionChanges }
  | { op: 'close' };

/** A reply carries the error instead of throwing, so a failing program never crashes the actor. */
export type SessionReply = { ok: unknown } | { error: unknown };

/** The exit reasons of a session that stopped on purpose; a call queued behind one is retried or refused. */
export const PASSIVATED = { shutdown: 'passivated' } as const;
export const CLOSED = { shutdown: 'closed' } as const;
export const PASSIVATE = Symbol('passivate');

/** Stop reason when the store could not be read at start: the caller gets `error` itself. */
export interface HydrateFailed {
  shutdown: { hydrateFailed: unknown };
}

interface ActorState {
  id: string;
  config: SessionsConfig;
  version: number;
  turnCount: number;
  turns: SessionTurnRecord[];
  settings: JsonObject;
  bound: JsonObject;
  python: PythonSession | undefined;
}

/** The session's row state in the store: settings and bound values (the turns have their own rows). */
function storedState(state: ActorState): JsonValue {
  return { settings: state.settings, bound: state.bound };
}

function asObject(value: JsonValue | undefined): JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : {};
}

async function hydrate(state: ActorState): Promise<void> {
  const loaded = await state.config.store.loadSession(state.id, { lastTurns: state.config.historyTurns });
  const row = asObject(loaded?.state);
  state.version = loaded?.version ?? 0;
  state.turnCount = loaded?.turnCount ?? 0;
  state.turns = (loaded?.turns ?? []).map((t) => t.turn as unknown as SessionTurnRecord);
  state.settings = asObject(row.settings);
  state.bound = asObject(row.bound);
}

function snapshot(state: ActorState): SessionSnapshot {
  return structuredClone({ id: state.id, version: state.version, turnCount: state.turnCount, turns: state.turns, settings: state.settings, bound: state.bound });
}

function pythonSession(state: ActorState): PythonSession {
  if (state.python !== undefined) return state.python;
  const python = state.config.python;
  if (python === undefined) throw new SessionProgramError(`session "${state.id}" has no Python pool: start Sessions with { python: { pool } } to use context.python().`);
  state.python = python.pool.session(`dspex-session:${state.id}`, python.affinity === undefined ? {} : { affinity: python.affinity });
  return state.python;
}

/** Runs the program once with the session's history; resolves to [what the caller gets, the turn's outputs]. */
async function runProgram(state: ActorState, program: SessionProgram, inputs: JsonObject, options: CallOptions): Promise<[unknown, JsonObject]> {
  const history = historyOf(state.turns);
  if (program instanceof Module) {
    const field = historyFieldOf(program);
    const callInputs: Fields = { ...state.bound, ...inputs, ...(field === undefined ? {} : { [field]: history }) };
    const config = asObject(state.settings.config);
    const callOptions: CallOptions = Object.keys(config).length === 0 ? options : { ...options, config: { ...config, ...options.config } };
    const prediction = await program.call(callInputs as LooseRecord<Fields>, callOptions);
    return [prediction, prediction.toDict() as JsonObject];
  }
  if (typeof program !== 'function') throw new SessionProgramError(`the program must be a dspex Module or a function (inputs, context) => outputs, not ${typeof program}.`);
  const context: SessionContext = {
    id: state.id,
    history,
    settings: state.settings,
    bound: state.bound,
    turnCount: state.turnCount,
    python: () => pythonSession(state),
  };
  const outputs = await program({ ...state.bound, ...inputs }, context);
  return [outputs, outputs];
}

function touch(self: ProcessContext, state: ActorState): void {
  GenServer.cast(self, state.config.managerName, { touched: state.id, pid: self.pid, at: state.config.clock() });
}

async function handleCallRequest(request: Extract<SessionRequest, { op: 'call' }>, state: ActorState): Promise<SessionReply> {
  let result: unknown;
  let outputs: JsonObject;
  try {
    [result, outputs] = await runProgram(state, request.program, request.inputs, request.options);
  } catch (error) {
    return { error };
  }
  const turn: SessionTurnRecord = { inputs: request.inputs, outputs };
  try {
    const written = await state.config.store.appendTurn(state.id, turn as unknown as JsonValue, { expectedVersion: state.version, ...(state.version === 0 ? { state: storedState(state) } : {}) });
    state.version = written.version;
    state.turnCount = written.seq;
    state.turns.push(structuredClone(turn));
    if (state.turns.length > state.config.historyTurns) state.turns.splice(0, state.turns.length - state.config.historyTurns);
    return { ok: result };
  } catch (error) {
    if (!(error instanceof StoreConflictError)) return { error };
    const expected = state.version;
    await hydrate(state).catch(() => undefined);
    return { error: new SessionConflictError(state.id, expected, error.actualVersion ?? state.version, { cause: error }) };
  }
}

async function handleUpdate(request: Extract<SessionRequest, { op: 'update' }>, state: ActorState): Promise<SessionReply> {
  // A conflict means another writer changed the session: reload and apply fn once more to the fresh state.
  for (let attempt = 0; ; attempt++) {
    try {
      const changes = request.fn(snapshot(state));
      const next = { settings: changes.settings ?? state.settings, bound: changes.bound ?? state.bound };
      const version = await state.config.store.saveSession(state.id, next as unknown as JsonValue, state.version);
      state.version = version;
      state.settings = structuredClone(next.settings);
      state.bound = structuredClone(next.bound);
      return { ok: snapshot(state) };
    } catch (error) {
      if (!(error instanceof StoreConflictError) || attempt === 1) {
        return { error: error instanceof StoreConflictError ? new SessionConflictError(state.id, state.version, error.actualVersion ?? 0, { cause: error }) : error };
      }
      await hydrate(state);
    }
  }
}

async function closePython(state: ActorState): Promise<void> {
  const python = state.python;
  state.python = undefined;
  await python?.close().catch(() => undefined);
}

/** The session actor. Start args: the session id and its tree's config. */
export const SessionActor: GenServerBehavior<ActorState, { id: string; config: SessionsConfig }, SessionRequest, SessionReply, typeof PASSIVATE> = {
  init({ id, config }) {
    return { ok: { id, config, version: 0, turnCount: 0, turns: [], settings: {}, bound: {}, python: undefined }, continue: 'hydrate' };
  },

  async handleContinue(_arg, state, self) {
    try {
      await hydrate(state);
    } catch (error) {
      return { stop: { shutdown: { hydrateFailed: error } } satisfies HydrateFailed, state };
    }
    GenServer.cast(self, state.config.managerName, { started: state.id, pid: self.pid, at: state.config.clock() });
    return { noreply: true, state };
  },

  async handleCall(request, _from, state, self) {
    switch (request.op) {
      case 'call': {
        const reply = await handleCallRequest(request, state);
        touch(self, state);
        return { reply, state };
      }
      case 'get':
        return { reply: { ok: snapshot(state) }, state };
      case 'update': {
        const reply = await handleUpdate(request, state);
        touch(self, state);
        return { reply, state };
      }
      case 'close': {
        try {
          await state.config.store.deleteSession(state.id);
        } catch (error) {
          return { reply: { error }, state };
        }
        await closePython(state);
        return { stop: CLOSED, reply: { ok: true }, state };
      }
    }
  },

  async handleCast(_message, state) {
    await closePython(state);
    return { stop: PASSIVATED, state };
  },

  async terminate(_reason, state) {
    await closePython(state);
  },
};
