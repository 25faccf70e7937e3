// VariableCoordinator: one GenServer per variable space, under the Variables DynamicSupervisor and registered in
// its Registry by space name. It serializes updates (compare-and-set on the space's version), writes each one
// to the store before replying (history entry first, then the current values), reloads both on start (so a
// space survives a restart; values another definition wrote are refused or migrated, never used as they are),
// and then tells the subscribers. Nothing lives only here.

import type { GenServerBehavior } from '@dspex/runtime';
import { StoreConflictError, type JsonValue, type Store } from '@dspex/store';
import { VariableConflictError, VariableStoredValuesError, VariableValueError, type VariableIssue } from './errors.js';
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

/** The `state` row: the version, the complete assignment, and which of its variables were derived (not chosen). */
interface StoredState {
  version: number;
  values: Assignment;
  /** Written since definitions are checked on load; a removed derived variable is no stored choice to lose. */
  derived?: string[];
}

/** Why stored values do not fit `definition` (none when they do), and the complete assignment they make when they fit. */
function fitOf(definition: SpaceDefinition, stored: Readonly<Assignment>, storedDerived: ReadonlySet<string>): { issues: VariableIssue[]; values?: Assignment } {
  const issues: VariableIssue[] = [];
  for (const [v, value] of Object.entries(stored)) {
    if (!Object.hasOwn(definition.variables, v) && !storedDerived.has(v)) issues.push({ variable: v, message: `the store holds ${describeValue(value)} for it, and this definition has no variable "${v}" (renamed or removed?)` });
  }
  for (const v of definition.free) {
    if (!Object.hasOwn(stored, v)) continue; // a new variable: its default
    const problem = problemOf(definition.variables[v]!, stored[v]);
    if (problem !== undefined) issues.push({ variable: v, message: `the stored value is refused: ${problem}` });
  }
  if (issues.length > 0) return { issues };
  return completed(definition, stored);
}

/** `values` (free variables; derived ones recomputed) completed and checked as an update is. */
function completed(definition: SpaceDefinition, values: Readonly<Assignment>): { issues: VariableIssue[]; values?: Assignment } {
  const free = Object.fromEntries(definition.free.filter((v) => Object.hasOwn(values, v)).map((v) => [v, values[v]!]));
  let complete: Assignment;
  try {
    complete = definition.complete(free);
  } catch (error) {
    if (error instanceof VariableValueError) return { issues: error.issues };
    throw error;
  }
  const issues = definition.check(complete);
  return issues.length > 0 ? { issues } : { issues: [], values: complete };
}

/** What the space's `migrate` makes of stored values: this definition's values, or a VariableStoredValuesError. */
function migrated(definition: SpaceDefinition, stored: Assignment, refused: VariableIssue[]): Assignment {
  const fail = (issues: VariableIssue[]): never => {
    throw new VariableStoredValuesError(definition.name, issues, true);
  };
  let result: unknown;
  try {
    result = definition.migrate!(structuredClone(stored), refused);
  } catch (error) {
    fail([{ message: `migrate threw: ${error instanceof Error ? error.message : String(error)} (it was called for: ${refused.map((i) => i.variable ?? i.constraint ?? i.message).join(', ')})` }]);
  }
  if (result === null || typeof result !== 'object' || Array.isArray(result)) fail([{ message: `migrate must return an object of values by variable name, not ${describeValue(result)}` }]);
  const values = result as Assignment;
  const unknown = Object.keys(values).filter((v) => !Object.hasOwn(definition.variables, v));
  if (unknown.length > 0) fail(unknown.map((v) => ({ variable: v, message: 'migrate returned a value for it, and this definition has no such variable: leave it out' })));
  const problems = definition.free.filter((v) => values[v] !== undefined).flatMap((v) => {
    const problem = problemOf(definition.variables[v]!, values[v]);
    return problem === undefined ? [] : [{ variable: v, message: problem }];
  });
  if (problems.length > 0) fail(problems);
  const fit = completed(definition, Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)));
  return fit.values ?? fail(fit.issues);
}

/**
 * Loads the space: the `state` row, then any history entry past it (an update whose state row was not written
 * before a crash is rolled forward). Stored values this definition refuses (written by another one) are never
 * used: with `migrate`, what it returns is committed as an update by `migrate` (`commitMigration`); without,
 * the load fails with VariableStoredValuesError.
 */
async function load(state: CoordinatorState, commitMigration: boolean): Promise<void> {
  const { definition, store } = state;
  const ns = namespaceOf(definition.name);
  const row = await store.kv.get(ns, 'state');
  const stored = (row?.value ?? { version: 0, values: {} }) as unknown as StoredState;
  const history = (await store.kv.list(ns, { prefix: 'history/' })).map((e) => e.value as unknown as HistoryEntry);
  const storedValues: Assignment = { ...stored.values };
  for (const entry of history) {
    if (entry.version > stored.version) for (const [v, change] of Object.entries(entry.changes)) storedValues[v] = change.to;
  }
  // A space never written starts at its defaults (which may lie outside the cross constraints; updates may not).
  const fit = row === undefined && history.length === 0 ? { issues: [], values: definition.defaults() } : fitOf(definition, storedValues, new Set(stored.derived ?? []));
  if (fit.values === undefined && (definition.migrate === undefined || !commitMigration)) throw new VariableStoredValuesError(definition.name, fit.issues, false);
  state.history = history;
  state.version = Math.max(stored.version, history.at(-1)?.version ?? 0);
  state.rowVersion = row?.version ?? 0;
  if (fit.values !== undefined) {
    state.values = fit.values;
    return;
  }
  const next = migrated(definition, storedValues, fit.issues);
  state.values = storedValues;
  await commit(state, next, { by: 'migrate', why: `the stored values did not fit the definition (${fit.issues.map((i) => `${i.variable ?? i.constraint}: ${i.message}`).join('; ')})` });
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
  const { definition } = state;
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

  try {
    return { ok: await commit(state, next, { by, why, metric }) };
  } catch (error) {
    if (!(error instanceof StoreConflictError)) return { error };
    const expected = state.version;
    await load(state, false).catch(() => undefined);
    return { error: new VariableConflictError(definition.name, expectedVersion ?? expected, state.version, { cause: error }) };
  }
}

/**
 * Writes `next` as the space's next version (the history entry first, and only if absent: it is the
 * compare-and-set against another process; then the state row), then tells the subscribers. Throws the store's
 * errors (StoreConflictError when another writer got there first); nothing changes here then.
 */
async function commit(state: CoordinatorState, next: Assignment, meta: { by?: string | undefined; why?: string | undefined; metric?: number | undefined }): Promise<SpaceSnapshot> {
  const { definition, store } = state;
  const changes: HistoryEntry['changes'] = {};
  for (const v of Object.keys(next)) if (!sameValue(state.values[v], next[v])) changes[v] = { from: state.values[v] ?? null, to: next[v]! };
  const entry: HistoryEntry = { version: state.version + 1, at: state.clock(), by: meta.by ?? null, why: meta.why ?? null, metric: meta.metric ?? null, changes };
  const ns = namespaceOf(definition.name);
  await store.kv.put(ns, historyKey(entry.version), entry as unknown as JsonValue, 0);
  const row: StoredState = { version: entry.version, values: next, derived: [...definition.derived] };
  state.rowVersion = await store.kv.put(ns, 'state', row as unknown as JsonValue, state.rowVersion);
  state.version = entry.version;
  state.values = next;
  state.history.push(entry);
  const after = snapshot(state);
  state.publish(structuredClone(entry), after);
  return after;
}

/** The coordinator of one space. */
export const VariableCoordinator: GenServerBehavior<CoordinatorState, CoordinatorArgs, CoordinatorRequest, CoordinatorReply> = {
  async init(args) {
    const state: CoordinatorState = { ...args, version: 0, rowVersion: 0, values: args.definition.defaults(), history: [] };
    await load(state, true);
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
