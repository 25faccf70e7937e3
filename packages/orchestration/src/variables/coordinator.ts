// VariableCoordinator: one GenServer per variable space, under the Variables DynamicSupervisor and registered in
// its Registry by space name. It serializes updates (compare-and-set on the space's version), writes each one
// to the store before replying (history entry first, then the current values), reloads both on start (so a
// space survives a restart), and then tells the subscribers. Nothing lives only here.

import type { GenServerBehavior } from '@dspex/runtime';
import { StoreConflictError, type JsonValue, type Store } from '@dspex/store';
import { VariableConflictError, VariableValueError, type VariableIssue } from './errors.js';
import { describeValue, problemOf, sameValue, type Assignment } from './kinds.js';
import type { SpaceDefinition } from './space.js';

/** One update of a space, as kept in its history (oldest first) and given to subscribers. */
export interface HistoryEntry {
  /** The space's version after this update (1 for the first). */
  version: number;
  /** When it was written (ms since the epoch). */
  at: number;
  /** Who set it (a user, an optimizer, the learner), as the writer said. */
  by: string | null;
  /** Why, as the writer said. */
  why: string | null;
  /** The metric the writer saw with these values, if it gave one. */
  metric: number | null;
  /** Every variable this update changed, derived ones included. */
  changes: Record<string, { from: JsonValue; to: JsonValue }>;
}

/** A space's current values. */
export interface SpaceSnapshot {
  space: string;
  /** 0 until the first update. */
  version: number;
  values: Assignment;
}

/** Options of space.set. */
export interface SetOptions {
  /** Compare-and-set: write only if the space is still at this version, else VariableConflictError. */
  expectedVersion?: number;
  by?: string;
  why?: string;
  metric?: number;
}

export type CoordinatorRequest =
  | { op: 'get' }
  | { op: 'set'; values: Assignment; options: SetOptions }
  | { op: 'history'; variable?: string };

export type CoordinatorReply = { ok: unknown } | { error: unknown };

export interface CoordinatorArgs {
  definition: SpaceDefinition;
  store: Store;
  clock: () => number;
  /** Called after each committed update (the tree fans it out to subscribers). */
  publish: (entry: HistoryEntry, snapshot: SpaceSnapshot) => void;
}

interface CoordinatorState extends CoordinatorArgs {
  version: number;
  /** The kv version of the `state` row (0: never written). */
  rowVersion: number;
  values: Assignment;
  history: HistoryEntry[];
}

/** The store namespace of a space: `variables:<name>`, holding `state` and `history/<version>`. */
export function namespaceOf(space: string): string {
  return `variables:${space}`;
}

const historyKey = (version: number): string => `history/${String(version).padStart(12, '0')}`;

/**
 * Loads the space: the `state` row, then any history entry past it (an update whose state row was not written
 * before a crash is rolled forward). Stored values the definition no longer accepts fall back to defaults.
 */
async function load(state: CoordinatorState): Promise<void> {
  const { definition, store } = state;
  const ns = namespaceOf(definition.name);
  const row = await store.kv.get(ns, 'state');
  const stored = (row?.value ?? { version: 0, values: {} }) as { version: number; values: Assignment };
  const history = (await store.kv.list(ns, { prefix: 'history/' })).map((e) => e.value as unknown as HistoryEntry);
  let values: Assignment = { ...stored.values };
  for (const entry of history) {
    if (entry.version > stored.version) for (const [v, change] of Object.entries(entry.changes)) values[v] = change.to;
  }
  const free = Object.fromEntries(definition.free.filter((v) => v in values && problemOf(definition.variables[v]!, values[v]) === undefined).map((v) => [v, values[v]!]));
  values = definition.complete(free);
  if (definition.check(values).length > 0) values = definition.defaults();
  state.values = values;
  state.history = history;
  state.version = Math.max(stored.version, history.at(-1)?.version ?? 0);
  state.rowVersion = row?.version ?? 0;
}

function snapshot(state: CoordinatorState): SpaceSnapshot {
  return { space: state.definition.name, version: state.version, values: structuredClone(state.values) };
}

/** What is wrong with a set request before any value is computed: its shape, its options, unknown, derived or ill-typed variables. */
function requestProblems(definition: SpaceDefinition, request: Extract<CoordinatorRequest, { op: 'set' }>): VariableIssue[] {
  const { values, options } = request;
  if (values === null || typeof values !== 'object' || Array.isArray(values)) return [{ message: `set takes an object of values by variable name, not ${describeValue(values)}` }];
  if (options === null || typeof options !== 'object') return [{ message: `set's options must be an object ({ expectedVersion, by, why, metric }), not ${describeValue(options)}` }];
  const issues: VariableIssue[] = [];
  const { expectedVersion, by, why, metric } = options;
  if (expectedVersion !== undefined && !(Number.isInteger(expectedVersion) && expectedVersion >= 0)) issues.push({ message: `expectedVersion must be a version (an integer >= 0, from space.get()), not ${describeValue(expectedVersion)}` });
  if (metric !== undefined && !Number.isFinite(metric)) issues.push({ message: `metric must be a finite number, not ${describeValue(metric)}` });
  for (const [key, text] of [['by', by], ['why', why]] as const) if (text !== undefined && typeof text !== 'string') issues.push({ message: `${key} must be a string, not ${describeValue(text)}` });
  for (const [v, value] of Object.entries(values)) {
    if (!Object.hasOwn(definition.variables, v)) issues.push({ variable: v, message: `the space has no variable "${v}" (it has ${definition.free.join(', ')})` });
    else if (!definition.free.includes(v)) issues.push({ variable: v, message: 'is derived (from its dependsOn); set what it depends on instead' });
    else if (value !== undefined) {
      const problem = problemOf(definition.variables[v]!, value);
      if (problem !== undefined) issues.push({ variable: v, message: problem });
    }
  }
  return issues;
}

async function set(state: CoordinatorState, request: Extract<CoordinatorRequest, { op: 'set' }>): Promise<CoordinatorReply> {
  const { definition, store } = state;
  const refused = requestProblems(definition, request);
  if (refused.length > 0) return { error: new VariableValueError(definition.name, refused) };
  const { expectedVersion, by, why, metric } = request.options;
  if (expectedVersion !== undefined && expectedVersion !== state.version) return { error: new VariableConflictError(definition.name, expectedVersion, state.version) };
  let next: Assignment;
  try {
    next = definition.complete(request.values, state.values);
  } catch (error) {
    if (error instanceof VariableValueError) return { error };
    throw error;
  }
  const issues = definition.check(next);
  if (issues.length > 0) return { error: new VariableValueError(definition.name, issues) };

  const changes: HistoryEntry['changes'] = {};
  for (const v of Object.keys(next)) if (!sameValue(state.values[v], next[v])) changes[v] = { from: state.values[v]!, to: next[v]! };
  const entry: HistoryEntry = { version: state.version + 1, at: state.clock(), by: by ?? null, why: why ?? null, metric: metric ?? null, changes };
  const ns = namespaceOf(definition.name);
  try {
    // The history entry is written first and only if absent: it is the compare-and-set against another process.
    await store.kv.put(ns, historyKey(entry.version), entry as unknown as JsonValue, 0);
    state.rowVersion = await store.kv.put(ns, 'state', { version: entry.version, values: next }, state.rowVersion);
  } catch (error) {
    if (!(error instanceof StoreConflictError)) return { error };
    const expected = state.version;
    await load(state).catch(() => undefined);
    return { error: new VariableConflictError(definition.name, expectedVersion ?? expected, state.version, { cause: error }) };
  }
  state.version = entry.version;
  state.values = next;
  state.history.push(entry);
  const after = snapshot(state);
  state.publish(structuredClone(entry), after);
  return { ok: after };
}

/** The coordinator of one space. */
export const VariableCoordinator: GenServerBehavior<CoordinatorState, CoordinatorArgs, CoordinatorRequest, CoordinatorReply> = {
  async init(args) {
    const state: CoordinatorState = { ...args, version: 0, rowVersion: 0, values: args.definition.defaults(), history: [] };
    await load(state);
    return { ok: state };
  },

  async handleCall(request, _from, state) {
    switch (request.op) {
      case 'get':
        return { reply: { ok: snapshot(state) }, state };
      case 'set':
        return { reply: await set(state, request), state };
      case 'history': {
        const { variable } = request;
        const entries = variable === undefined ? state.history : state.history.filter((e) => variable in e.changes);
        return { reply: { ok: structuredClone(entries) }, state };
      }
    }
  },
};
