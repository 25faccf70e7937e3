// DSPy's settings: a process-wide configuration (configure, like dspy.configure) and async-context-local
// overrides (withSettings, like `with dspy.context(...)`). Overrides follow the async call chain through
// AsyncLocalStorage, so concurrent requests in one Node process each see their own LM, adapter and trace.
// Module.call's caller stack is kept without it unless a withSettings scope is open (see withCaller): on
// Node 20 the first AsyncLocalStorage.run turns on async hooks for every promise of the process, for good.

import { AsyncLocalStorage } from 'node:async_hooks';
import type { Runtime } from '@dspex/runtime';
import type { LM } from '../primitives/lm.js';
import type { Adapter } from '../adapters/base.js';
import type { UsageTracker } from '../usage/tracker.js';

/** One entry of a trace: the predictor that ran, its inputs, and its prediction (DSPy's (predictor, inputs, pred)). */
export interface TraceEntry<P = unknown, R = unknown> {
  predictor: P;
  inputs: Record<string, unknown>;
  prediction: R;
}

/** What `configure`/`withSettings` set: the LM, the adapter, the trace, caller modules and the like (DSPy's `dspy.settings`). */
export interface Settings {
  /** The LM Predict uses when neither the call nor the module names one. */
  lm: LM | null;
  /** The adapter Predict formats and parses with; null means ChatAdapter (with its JSONAdapter fallback). */
  adapter: Adapter | null;
  /**
   * Where Predict records (predictor, inputs, prediction) after each call; null records nothing. DSPy's global
   * default is an always-on list; here it is opt-in (a long-lived server would otherwise keep 10,000 entries of
   * every request), and BootstrapFewShot opens one with withSettings({ trace: [] }, ...).
   */
  trace: TraceEntry[] | null;
  /** The trace keeps at most this many entries, dropping the oldest (DSPy's max_trace_size). */
  maxTraceSize: number;
  /** The modules whose call() is on the stack, outermost first (DSPy's caller_modules). */
  callerModules: readonly object[];
  /** Sum the LM usage of each top-level module call into its prediction's lmUsage (DSPy's track_usage). */
  trackUsage: boolean;
  /** The tracker of the top-level module call running here (DSPy's usage_tracker); set by Module.call. */
  usageTracker: UsageTracker | null;
  /** Each LM's history keeps at most this many calls (DSPy's max_history_size); 0 keeps none. */
  maxHistorySize: number;
  /** Record no LM history at all, global or per LM (DSPy's disable_history). */
  disableHistory: boolean;
  /**
   * The runtime evaluate() and BootstrapFewShot run their tasks on when the call passes no `runtime` option
   * (`configure({ runtime: rt })`, or `withSettings({ runtime: rt }, ...)` for one scope). null: each such call
   * makes a runtime of its own and shuts it down when it settles. Whoever sets it owns it: shut it down after use.
   */
  runtime: Runtime | null;
}

const DEFAULTS: Settings = {
  lm: null,
  adapter: null,
  trace: null,
  maxTraceSize: 10_000,
  callerModules: [],
  trackUsage: false,
  usageTracker: null,
  maxHistorySize: 10_000,
  disableHistory: false,
  runtime: null,
};

let globalSettings: Settings = { ...DEFAULTS };

/**
 * One withSettings scope: its overrides, and those merged over the global settings, kept until configure()
 * replaces the global object (Module.call opens a scope per call, and Predict reads the settings several times
 * per call: merging once per scope instead of once per read is most of what settings cost on the hot path).
 */
interface Scope {
  readonly local: Partial<Settings>;
  /** The global settings `merged` was made from; null until the first read. */
  base: Settings | null;
  merged: Settings;
}

const overrides = new AsyncLocalStorage<Scope>();

/**
 * The caller stack of the Module.call whose forward() is running synchronously right now, when no withSettings
 * scope is open; undefined otherwise. Set and restored around the synchronous part of forward (withCaller).
 */
let callerFrame: Scope | undefined;

/** The settings in effect here: the innermost withSettings overrides over the configured ones. */
export function currentSettings(): Readonly<Settings> {
  const scope = callerFrame ?? overrides.getStore();
  if (scope === undefined) return globalSettings;
  if (scope.base !== globalSettings) {
    scope.base = globalSettings;
    scope.merged = { ...globalSettings, ...scope.local };
  }
  return scope.merged;
}

/** Set process-wide defaults (DSPy's dspy.configure). Later calls update only the keys they name. */
export function configure(update: Partial<Settings>): void {
  globalSettings = { ...globalSettings, ...definedOnly(update) };
}

/** Back to the defaults: no LM, no adapter, no trace. For tests and shutdown. */
export function resetSettings(): void {
  globalSettings = { ...DEFAULTS };
}

/**
 * Run `fn` with `update` over the current settings (DSPy's `with dspy.context(...)`). The overrides hold for
 * everything `fn` awaits, and only there; concurrent calls outside see nothing of them.
 */
export function withSettings<T>(update: Partial<Settings>, fn: () => T): T {
  // A caller frame open here becomes part of the scope, so the stack also holds across fn's awaits.
  const frame = callerFrame;
  const local: Partial<Settings> = { ...(frame ?? overrides.getStore())?.local };
  for (const key in update) {
    const value = update[key as keyof Settings];
    if (value !== undefined) (local as Record<string, unknown>)[key] = value;
  }
  callerFrame = undefined;
  try {
    return overrides.run({ local, base: null, merged: globalSettings }, fn);
  } finally {
    callerFrame = frame;
  }
}

/**
 * Runs `fn` (a module's forward) with `module` pushed on settings.callerModules (DSPy's Module.__call__).
 * Inside a withSettings scope the stack is a nested scope, so it holds across every await of forward. Outside
 * any scope it is a frame held for the synchronous part of `fn` only (forward up to its first await, and the
 * calls it makes there): opening an AsyncLocalStorage scope per call would turn on async hooks for the whole
 * process, which costs more than the rest of an evaluation's client side (see the README's differences).
 */
export function withCaller<T>(module: object, fn: () => T, usageTracker?: UsageTracker): T {
  const outer = callerFrame;
  if (outer === undefined && overrides.getStore() !== undefined) {
    const update: Partial<Settings> = { callerModules: [...currentSettings().callerModules, module] };
    if (usageTracker !== undefined) update.usageTracker = usageTracker;
    return withSettings(update, fn);
  }
  const callers = outer?.local.callerModules ?? globalSettings.callerModules;
  const local: Partial<Settings> = { callerModules: [...callers, module] };
  // The frame carries the usage tracker to the LM calls made in the synchronous part (program/lm_record.ts).
  const tracker = usageTracker ?? outer?.local.usageTracker;
  if (tracker != null) local.usageTracker = tracker;
  callerFrame = { local, base: null, merged: globalSettings };
  try {
    return fn();
  } finally {
    callerFrame = outer;
  }
}

/** Settings as a read-only view that always reflects the current context (DSPy's dspy.settings). */
export const settings: Readonly<Settings> = new Proxy({} as Settings, {
  get(_target, property) {
    return currentSettings()[property as keyof Settings];
  },
  has(_target, property) {
    return property in currentSettings();
  },
  ownKeys() {
    return Reflect.ownKeys(currentSettings());
  },
  getOwnPropertyDescriptor(_target, property) {
    return { value: currentSettings()[property as keyof Settings], enumerable: true, configurable: true };
  },
  set() {
    return false;
  },
});

function definedOnly(update: Partial<Settings>): Partial<Settings> {
  return Object.fromEntries(Object.entries(update).filter(([, value]) => value !== undefined)) as Partial<Settings>;
}
