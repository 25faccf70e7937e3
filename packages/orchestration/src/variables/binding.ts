// Binding variables to program parameters by path: `bind(space, program, { 'qa.predict.config.temperature':
// 'temperature' })` returns a BoundProgram that, on every call, reads the space's current values and writes
// them into the program before running it, so an update is seen on the next call with nothing rebuilt.
// ModuleSlot is the slot a `module` variable switches: it rebuilds Predict / ChainOfThought / ReAct from one
// signature when the kind changes, and is also where a per-submodule `adapter` variable applies.

import {
  ChainOfThought,
  ChatAdapter,
  Example,
  JSONAdapter,
  Module,
  Predict,
  ReAct,
  isParameter,
  withSettings,
  type Adapter,
  type CallOptions,
  type Fields,
  type LM,
  type LMConfig,
  type Prediction,
  type Signature,
  type Tool,
  type ToolFunction,
} from 'dspex';
import { VariableBindingError } from './errors.js';
import { choicesOf, type Assignment, type AdapterName, type JsonObject, type ModuleKind, type VariableKind } from './kinds.js';
import type { SpaceSnapshot } from './coordinator.js';
import type { VariableSpace } from './variables.js';

/** Options of a ModuleSlot: the kind it starts as, and what ReAct needs when it becomes one. */
export interface ModuleSlotOptions {
  kind?: ModuleKind;
  /** ReAct's tools (required before the slot can become a ReAct). */
  tools?: ReadonlyArray<Tool | ToolFunction>;
  maxIters?: number;
  /** LM settings every built module's predictors start with. */
  config?: LMConfig;
}

/**
 * A module whose kind can change at run time: it holds the Predict, ChainOfThought or ReAct built from its
 * signature (`inner`) and rebuilds it when `setKind` gets another kind. State held only by the old module (demos,
 * config not bound to a variable) is not carried over: bind what must survive a switch.
 * In a binding path, `predict` after a slot means its main predictor: the Predict itself, ChainOfThought's
 * `predict`, ReAct's `react`.
 */
export class ModuleSlot extends Module {
  kind: ModuleKind;
  inner: Module;
  /** The adapter this slot's calls format with (null: the one in settings). Set by an `adapter` binding. */
  adapter: Adapter | null = null;
  readonly signature: Signature | string;
  declare private readonly slotOptions: ModuleSlotOptions;

  constructor(signature: Signature | string, options: ModuleSlotOptions = {}) {
    super();
    this.signature = signature;
    // Off the enumerable properties: tools are not parameters, and deepcopy still copies it (shared values).
    Object.defineProperty(this, 'slotOptions', { value: { ...options }, enumerable: false });
    this.kind = options.kind ?? 'Predict';
    this.inner = this.build(this.kind);
  }

  private build(kind: ModuleKind): Module {
    const config = this.slotOptions.config ?? {};
    switch (kind) {
      case 'Predict':
        return new Predict(this.signature, config);
      case 'ChainOfThought':
        return new ChainOfThought(this.signature, { config });
      case 'ReAct': {
        const react = new ReAct(this.signature, this.slotOptions.tools ?? [], this.slotOptions.maxIters === undefined ? {} : { maxIters: this.slotOptions.maxIters });
        react.react.updateConfig(config);
        return react;
      }
    }
  }

  /** Whether the slot has the tools a ReAct needs. */
  get canBecomeReAct(): boolean {
    return (this.slotOptions.tools ?? []).length > 0;
  }

  /** Rebuilds the inner module when `kind` differs from the current one. */
  setKind(kind: ModuleKind): void {
    if (kind === this.kind) return;
    if (kind === 'ReAct' && !this.canBecomeReAct) throw new VariableBindingError('module', 'a ModuleSlot becomes a ReAct only with tools: pass new ModuleSlot(signature, { tools })');
    this.inner = this.build(kind);
    this.kind = kind;
  }

  /** The predictor `predict` names in a path: the Predict itself, ChainOfThought's predict, ReAct's react. */
  get mainPredictor(): Predict {
    if (this.inner instanceof Predict) return this.inner;
    if (this.inner instanceof ChainOfThought) return this.inner.predict;
    return (this.inner as ReAct).react;
  }

  override forward(inputs: Fields, options?: CallOptions): Promise<Prediction> {
    const run = (): Promise<Prediction> => this.inner.call(inputs, options);
    return this.adapter === null ? run() : withSettings({ adapter: this.adapter }, run);
  }
}

/** Options of bind(). */
export interface BindOptions {
  /** The LMs an `lm` variable's values name; every choice of a bound lm variable must be here. */
  lms?: Record<string, LM>;
}

type Target = 'config' | 'instructions' | 'demos' | 'lm' | 'adapter' | 'module';

interface Binding {
  path: string;
  variable: string;
  /** The segments leading to the module the value goes into. */
  prefix: string[];
  target: Target;
  /** The config key, for `config` targets. */
  key?: string;
}

const KINDS_OF: Record<Target, readonly VariableKind[]> = {
  config: ['float', 'int', 'bool', 'choice'],
  instructions: ['text'],
  demos: ['demos'],
  lm: ['lm'],
  adapter: ['adapter'],
  module: ['module'],
};

function parsePath(path: string, variable: string): Binding {
  const segments = path.split('.').filter((s) => s.length > 0);
  const last = segments.at(-1);
  const beforeLast = segments.at(-2);
  if (beforeLast === 'config' && last !== undefined) return { path, variable, prefix: segments.slice(0, -2), target: 'config', key: last };
  if (last === 'instructions') return { path, variable, prefix: segments.slice(0, beforeLast === 'signature' ? -2 : -1), target: 'instructions' };
  if (last === 'demos' || last === 'lm' || last === 'adapter' || last === 'module') return { path, variable, prefix: segments.slice(0, -1), target: last };
  throw new VariableBindingError(path, 'a path ends in config.<key>, signature.instructions (or instructions), demos, lm, adapter or module, e.g. "qa.predict.config.temperature".');
}

/** The object a path prefix leads to; a ModuleSlot is looked through to its inner module. */
function resolve(root: Module, binding: Binding): unknown {
  let current: unknown = root;
  for (const segment of binding.prefix) {
    if (current instanceof ModuleSlot) current = segment === 'predict' ? current.mainPredictor : (current.inner as unknown as Record<string, unknown>)[segment];
    else current = current !== null && typeof current === 'object' ? (current as Record<string, unknown>)[segment] : undefined;
    if (current === undefined) throw new VariableBindingError(binding.path, `"${segment}" leads nowhere in the program (check the attribute names of your module).`);
  }
  return current;
}

function predictorsOf(binding: Binding, target: unknown): Predict[] {
  if (target instanceof ModuleSlot) return target.inner.predictors();
  if (isParameter(target)) return [target as unknown as Predict];
  if (target instanceof Module) return target.predictors();
  throw new VariableBindingError(binding.path, 'does not lead to a module (a Predict, ChainOfThought, ReAct, ModuleSlot or your Module).');
}

const ADAPTERS: Record<AdapterName, () => Adapter> = { chat: () => new ChatAdapter(), json: () => new JSONAdapter() };
const adapterCache = new Map<AdapterName, Adapter>();
function adapterOf(name: AdapterName): Adapter {
  let adapter = adapterCache.get(name);
  if (adapter === undefined) adapterCache.set(name, (adapter = ADAPTERS[name]()));
  return adapter;
}

/** The LM `bind(..., { lms })` maps `name` to (own keys only: a model called "constructor" is not Object's). */
function lmNamed(options: BindOptions, name: unknown): LM | undefined {
  return typeof name === 'string' && options.lms !== undefined && Object.hasOwn(options.lms, name) ? options.lms[name] : undefined;
}

/** Writes one value into the program; resolves to the root adapter when the binding is the root's `adapter`. */
function applyOne(root: Module, binding: Binding, value: unknown, options: BindOptions): Adapter | undefined {
  const target = resolve(root, binding);
  switch (binding.target) {
    case 'module':
      if (!(target instanceof ModuleSlot)) throw new VariableBindingError(binding.path, 'a module variable binds to a ModuleSlot: hold new ModuleSlot(signature) where the kind should switch.');
      if (value === 'ReAct' && !target.canBecomeReAct) throw new VariableBindingError(binding.path, 'the module variable may choose ReAct, and a ModuleSlot becomes a ReAct only with tools: pass new ModuleSlot(signature, { tools }) or leave ReAct out of its choices.');
      target.setKind(value as ModuleKind);
      return undefined;
    case 'adapter':
      if (target instanceof ModuleSlot) {
        target.adapter = adapterOf(value as AdapterName);
        return undefined;
      }
      if (binding.prefix.length === 0) return adapterOf(value as AdapterName);
      throw new VariableBindingError(binding.path, 'an adapter binds to the whole program ("adapter") or to a ModuleSlot ("qa.adapter").');
    case 'config':
      for (const p of predictorsOf(binding, target)) if (p.config[binding.key!] !== value) p.config = { ...p.config, [binding.key!]: value };
      return undefined;
    case 'instructions':
      for (const p of predictorsOf(binding, target)) if (p.signature.instructions !== value) p.signature = p.signature.withInstructions(value as string);
      return undefined;
    case 'demos':
      for (const p of predictorsOf(binding, target)) p.demos = (value as JsonObject[]).map((d) => new Example(d));
      return undefined;
    case 'lm': {
      const lm = lmNamed(options, value);
      if (lm === undefined) throw new VariableBindingError(binding.path, `no LM named "${String(value)}" in bind(..., { lms }).`);
      for (const p of predictorsOf(binding, target)) p.lm = lm;
      return undefined;
    }
  }
}

/** Writes `values` into `program` as `bindings` say (module switches first); resolves to the root adapter, if bound. */
function applyValues(program: Module, bindings: readonly Binding[], values: Readonly<Assignment>, options: BindOptions): Adapter | undefined {
  let adapter: Adapter | undefined;
  const ordered = [...bindings.filter((b) => b.target === 'module'), ...bindings.filter((b) => b.target !== 'module')];
  for (const binding of ordered) adapter = applyOne(program, binding, values[binding.variable], options) ?? adapter;
  return adapter;
}

function runWith<T>(adapter: Adapter | undefined, fn: () => T): T {
  return adapter === undefined ? fn() : withSettings({ adapter }, fn);
}

/** A program with fixed values applied (what optimizers evaluate a trial with); a copy, independent of the space. */
export class AppliedProgram<I extends Fields = Fields, O extends Fields = Fields> extends Module<I, O> {
  constructor(
    readonly program: Module<I, O>,
    readonly adapter: Adapter | undefined,
  ) {
    super();
  }

  override forward(inputs: I, options?: CallOptions): Promise<Prediction<O>> {
    return runWith(this.adapter, () => this.program.call(inputs as Fields, options));
  }
}

/** A program at one version of the space: the calls running on it, and the root adapter its values chose. */
interface Instance {
  version: number;
  program: Module;
  adapter: Adapter | undefined;
  calls: number;
}

/**
 * A program bound to a variable space: each call reads the space's current values and runs with them, so an
 * update is seen on the next call with nothing rebuilt. A call sees one version throughout, all its steps: the
 * values are written into the program itself (in place, so `bound.program` shows them) only while no call runs
 * on it; a call that finds the program busy at an older version runs on a copy with its version's values.
 */
export class BoundProgram<I extends Fields = Fields, O extends Fields = Fields> extends Module<I, O> {
  readonly program: Module<I, O>;
  declare readonly space: VariableSpace;
  declare readonly bindings: readonly Binding[];
  declare readonly options: BindOptions;
  /** The versions calls run at: the program itself (`inPlace`) and copies, each dropped once idle and outdated. */
  declare private readonly instances: Map<number, Instance>;
  declare private inPlace: Instance | undefined;
  declare private latest: number;

  constructor(space: VariableSpace, program: Module<I, O>, bindings: Record<string, string>, options: BindOptions = {}) {
    super();
    this.program = program;
    if (bindings === null || typeof bindings !== 'object') throw new VariableBindingError(String(bindings), 'bind takes an object of paths to variable names, e.g. { "qa.predict.config.temperature": "temperature" }.');
    const parsed = Object.entries(bindings).map(([path, variable]) => parsePath(path, variable));
    // Kept off the enumerable properties, so namedPredictors and deepcopy see only the program.
    for (const [key, value] of [['space', space], ['bindings', parsed], ['options', options], ['instances', new Map()], ['inPlace', undefined], ['latest', -1]] as const) {
      Object.defineProperty(this, key, { value, enumerable: false, writable: key === 'inPlace' || key === 'latest' });
    }
    for (const binding of parsed) checkBinding(space, program, binding, options);
  }

  /** The variables this program reads. */
  get variables(): string[] {
    return [...new Set(this.bindings.map((b) => b.variable))];
  }

  override async forward(inputs: I, options?: CallOptions): Promise<Prediction<O>> {
    const instance = this.instanceAt(await this.space.get());
    instance.calls++;
    try {
      return (await runWith(instance.adapter, () => instance.program.call(inputs as Fields, options))) as Prediction<O>;
    } finally {
      instance.calls--;
      this.dropIdle();
    }
  }

  /** The program a call at `snapshot`'s version runs on (the values written in the same synchronous step). */
  private instanceAt({ version, values }: SpaceSnapshot): Instance {
    this.latest = Math.max(this.latest, version);
    const found = this.instances.get(version);
    if (found !== undefined) return found;
    let instance: Instance;
    if (this.inPlace === undefined || this.inPlace.calls === 0) {
      if (this.inPlace !== undefined) this.instances.delete(this.inPlace.version);
      instance = { version, program: this.program, adapter: applyValues(this.program, this.bindings, values, this.options), calls: 0 };
      this.inPlace = instance;
    } else {
      const copy = this.program.deepcopy();
      instance = { version, program: copy, adapter: applyValues(copy, this.bindings, values, this.options), calls: 0 };
    }
    this.instances.set(version, instance);
    return instance;
  }

  private dropIdle(): void {
    const inPlaceIdle = this.inPlace === undefined || this.inPlace.calls === 0;
    for (const [version, instance] of this.instances) {
      if (instance.calls > 0) continue;
      // Outdated and idle: no call needs it. An idle copy of the latest version gives way to the program itself
      // once that is idle too, so the next call writes the values in place again.
      if (version < this.latest || (inPlaceIdle && instance !== this.inPlace)) this.instances.delete(version);
    }
  }

  /**
   * The predictors `variable`'s bindings write into, found in `root` (default the bound program; a deepcopy of it
   * has the same paths): what a proposer for demos or instructions works on.
   */
  predictorsOf(variable: string, root: Module = this.program): Predict[] {
    const found = new Set<Predict>();
    for (const binding of this.bindings) {
      if (binding.variable !== variable || binding.target === 'module' || binding.target === 'adapter') continue;
      for (const predictor of predictorsOf(binding, resolve(root, binding))) found.add(predictor);
    }
    return [...found];
  }

  /** A copy of the program with `values` applied, for evaluating an assignment without touching the space. */
  withValues(values: Readonly<Assignment>): AppliedProgram<I, O> {
    const copy = this.program.deepcopy();
    return new AppliedProgram(copy, applyValues(copy, this.bindings, values, this.options));
  }
}

function checkBinding(space: VariableSpace, program: Module, binding: Binding, options: BindOptions): void {
  const spec = typeof binding.variable === 'string' && Object.hasOwn(space.definition.variables, binding.variable) ? space.definition.variables[binding.variable] : undefined;
  if (spec === undefined) throw new VariableBindingError(binding.path, `space "${space.name}" has no variable "${binding.variable}".`);
  if (!KINDS_OF[binding.target].includes(spec.kind)) {
    throw new VariableBindingError(binding.path, `takes a ${KINDS_OF[binding.target].join(' or ')} variable; "${binding.variable}" is a ${spec.kind}.`);
  }
  if (spec.kind === 'lm') {
    const missing = spec.choices.filter((c) => lmNamed(options, c) === undefined);
    if (missing.length > 0) throw new VariableBindingError(binding.path, `the lm variable "${binding.variable}" may name ${missing.join(', ')}, which bind(..., { lms }) does not map to an LM.`);
  }
  // The path must resolve now, not on the first call, for the default and for every value a discrete kind allows
  // (a module variable that may choose ReAct needs a slot with tools).
  const values = ['module', 'adapter', 'lm'].includes(spec.kind) ? choicesOf(spec)! : [space.definition.defaults()[binding.variable]];
  const copy = program.deepcopy();
  for (const value of values) applyOne(copy, binding, value, options);
}

/**
 * Binds a program's parameters to a space's variables by path (`{ 'qa.predict.config.temperature':
 * 'temperature' }`); the returned program uses the current values on each call. Throws VariableBindingError for
 * a path that leads nowhere or a variable of the wrong kind.
 */
export function bind<I extends Fields, O extends Fields>(space: VariableSpace, program: Module<I, O>, bindings: Record<string, string>, options: BindOptions = {}): BoundProgram<I, O> {
  return new BoundProgram(space, program, bindings, options);
}
