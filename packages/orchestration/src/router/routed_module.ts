// One module as the router sees it: its native side (a Module, when DSPex has it) and its Python side (the same
// program rebuilt in a pool session from its DSPy JSON, or any DSPy class by name), with the latency and error
// rate measured on each. Calling it asks the router where to go; it is a Program, so evaluate() can measure it.

import type { PythonPool } from '@dspex/python-bridge';
import { nanoid } from 'nanoid';
import { ChainOfThought, Predict, streamEvents, type Module, type Prediction, type Program, type ProgramCallOptions, type StreamEvent } from 'dspex';
import { setupPythonProgram, type PythonProgram, type PythonSession } from '../python/python_program.js';
import { pythonTwin, stateForPython, type PythonClassSpec } from '../python/python_twin.js';
import { SideStats, type SideStatsOptions } from './side_stats.js';
import type { RouteSide } from './telemetry.js';

/** DSPy classes DSPex also runs natively, built from the same constructor arguments (a signature string). */
const NATIVE_CLASSES: Readonly<Record<string, (args: readonly unknown[], kwargs: Record<string, unknown>) => Module>> = {
  'dspy.Predict': (args, kwargs) => new Predict(String(args[0]), kwargs),
  'dspy.ChainOfThought': (args) => new ChainOfThought(String(args[0])),
};

/** The Python side's LM spec, and a key that changes when the spec does. */
export interface PythonLm {
  readonly spec: Record<string, unknown>;
  readonly key: string;
}

/** What the router needs from itself to set up and call a module (kept small so modules stay plain objects). */
export interface RouteHost {
  route(module: RoutedModule, inputs: Record<string, unknown>, options: ProgramCallOptions): Promise<Prediction>;
  /** The LM spec the Python side should run with now; undefined: the pool's own. */
  pythonLm(): Promise<PythonLm | undefined>;
  readonly pool: PythonPool | undefined;
  readonly idempotent: boolean;
  readonly statsOptions: SideStatsOptions;
}

/** What `router.module` routes: a native module, a DSPy class for the Python side, or both. */
export interface ModuleSpec {
  /** Name in route events. Default: the class name, made unique. */
  name?: string;
  /** The native side. */
  native?: Module;
  /**
   * The Python side: a Program already running in Python, a DSPy class to build (with the native side's state
   * loaded into it when there is one), or false for none. Default: the native side's twin, when a pool is set.
   */
  python?: Program | PythonClassSpec | false;
  /** The module may be called again safely (default: the router's `idempotent`). */
  idempotent?: boolean;
}

let counter = 0;

/** A module behind the Router (`router.module(...)`): `call` routes each call; `run(side, inputs, options)` runs it on the side given. */
export class RoutedModule implements Program {
  readonly name: string;
  readonly native: Module | undefined;
  readonly stats: Readonly<Record<RouteSide, SideStats>>;
  /** Whether a Python side exists (decided at registration; set up on its first call). */
  readonly hasPython: boolean;
  /** Calls may be repeated safely: evaluate() and the router retry one whose Python worker died. */
  readonly idempotent: boolean;
  private readonly pythonClass: PythonClassSpec | undefined;
  private pythonProgram: Program | Promise<Program> | undefined;
  /** The key of the LM spec the Python side's session was last configured with (see RouteHost.pythonLm). */
  private configuredLm: string | undefined;

  constructor(
    private readonly host: RouteHost,
    spec: ModuleSpec,
  ) {
    this.native = spec.native;
    const python = spec.python;
    if (python !== undefined && python !== false && typeof (python as Program).call === 'function') {
      this.pythonProgram = python as Program;
    } else if (python !== false && host.pool !== undefined) {
      this.pythonClass = python === undefined ? twinOf(spec.native) : (python as PythonClassSpec);
    }
    this.hasPython = this.pythonProgram !== undefined || this.pythonClass !== undefined;
    this.idempotent = spec.idempotent ?? host.idempotent;
    this.name = spec.name ?? `${spec.native?.constructor.name ?? this.pythonClass?.class ?? 'module'}#${++counter}`;
    this.stats = { native: new SideStats(host.statsOptions), python: new SideStats(host.statsOptions) };
  }

  /** A DSPy class by name: native too when DSPex implements it, else Python only. */
  static fromClass(host: RouteHost, spec: PythonClassSpec & { name?: string }): RoutedModule {
    const build = NATIVE_CLASSES[spec.class];
    const native = build?.(spec.args ?? [], spec.kwargs ?? {});
    return new RoutedModule(host, { name: spec.name ?? `${spec.class}#${++counter}`, ...(native === undefined ? {} : { native }), python: { class: spec.class, ...(spec.args ? { args: spec.args } : {}), ...(spec.kwargs ? { kwargs: spec.kwargs } : {}) } });
  }

  call(inputs: Record<string, unknown>, options: ProgramCallOptions = {}): Promise<Prediction> {
    return this.host.route(this, inputs, options);
  }

  /** call() as events: the side the router picks streams its fields (native Predicts, or DSPy's streamify), then the prediction. */
  stream(inputs: Record<string, unknown>, options: ProgramCallOptions = {}): AsyncIterable<StreamEvent> {
    return streamEvents(this.native, (signal) => this.call(inputs, { ...options, signal }), options.signal);
  }

  /** Runs the module on `side` (no routing). */
  async run(side: RouteSide, inputs: Record<string, unknown>, options: ProgramCallOptions): Promise<Prediction> {
    if (side === 'native') return this.native!.call(inputs, options.signal === undefined ? {} : { signal: options.signal });
    const program = await this.python();
    if (this.pythonClass !== undefined) await this.followLm(program as PythonProgram);
    return program.call(inputs, options);
  }

  /** Configures the session again when the LM spec changed since (LocalLM restarted on a new port, a new key). */
  private async followLm(program: PythonProgram): Promise<void> {
    const lm = await this.host.pythonLm();
    if (lm === undefined || lm.key === this.configuredLm) return;
    await program.session.call('configure_lm', lm.spec);
    this.configuredLm = lm.key;
  }

  /** Rebuilds the Python side from the native side's current state at its next call (after an optimization). */
  resyncPython(): void {
    if (this.pythonClass !== undefined) this.pythonProgram = undefined;
  }

  private python(): Program | Promise<Program> {
    if (this.pythonProgram !== undefined) return this.pythonProgram;
    const pool = this.host.pool!;
    const session = pool.session(`router-${nanoid(8)}`, { affinity: 'strict_queue' });
    const setup = async (s: PythonSession): Promise<string> => {
      const lm = await this.host.pythonLm();
      if (lm !== undefined) await s.call('configure_lm', lm.spec);
      this.configuredLm = lm?.key;
      const spec = this.pythonClass!;
      if (this.native === undefined) return (await s.call<{ handle: string }>('create', { ...spec })).handle;
      return (await s.call<{ handle: string }>('load', { ...spec, state: stateForPython(await this.native.save()) })).handle;
    };
    const pending = setupPythonProgram(session, setup);
    this.pythonProgram = pending;
    pending.then(
      (program) => void (this.pythonProgram === pending && (this.pythonProgram = program)),
      () => void (this.pythonProgram === pending && (this.pythonProgram = undefined)), // the next call tries again
    );
    return pending;
  }
}

function twinOf(native: Module | undefined): PythonClassSpec | undefined {
  if (native === undefined) return undefined;
  try {
    return pythonTwin(native);
  } catch {
    return undefined; // no DSPy twin (a ReAct with TypeScript tools, a custom module): native only
  }
}
