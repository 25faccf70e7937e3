// Samplers: what proposes the next assignment to try. The optimizer loop asks one at a time (ask), runs the
// trial and reports it back (tell): the ask/tell shape of Optuna, so a TPE sampler over the Python bridge, a
// BootstrapFewShot proposer for demos variables or an instruction proposer plugs in as another Sampler.
// Random search and grid search here are the native baselines.

import type { Caller } from '@dspex/runtime';
import type { JsonValue } from '@dspex/store';
import type { Metric } from 'dspex';
import type { BoundProgram } from '../variables/binding.js';
import { choicesOf, type Assignment, type VariableSpec } from '../variables/kinds.js';
import type { SpaceDefinition } from '../variables/space.js';
import type { ObjectiveSpec } from './objectives.js';

/** What a completed trial measured over the dev set. */
export interface TrialMeasures {
  /** The mean metric (true = 1): the trial's score. */
  quality: number;
  /** USD of its LM calls by dspex's price table; null when a model has no price (see `unpriced`). */
  cost: number | null;
  /** Models its LM calls used that have no price (registerPrices adds them). */
  unpriced: string[];
  /** Prompt plus completion tokens of its LM calls (cache hits count none). */
  tokens: number;
  /** Mean wall time of one program call, in milliseconds. */
  latencyMs: number;
}

/** A finished trial, as samplers and the result see it. */
export interface Trial {
  /** 0, 1, 2, ... in the order proposed. */
  number: number;
  /** The complete assignment evaluated (derived variables included). */
  assignment: Assignment;
  status: 'completed' | 'failed' | 'infeasible';
  /** The mean metric over the dev set (completed trials only). */
  score: number | null;
  error: string | null;
  durationMs: number;
  /** What it measured (completed trials; null otherwise). */
  measures: TrialMeasures | null;
  /** Its objectives' values, in the run's order of objectives (completed trials; null otherwise). */
  values: number[] | null;
}

/** What a sampler is asked with. */
export interface SamplerContext {
  space: SpaceDefinition;
  /** The variables it proposes values for; the others stay at `base`. */
  variables: readonly string[];
  /** The space's values when the run started. */
  base: Readonly<Assignment>;
  /** Trials finished so far, in finishing order. */
  trials: readonly Trial[];
  /** Whether a proposal passes every constraint once completed with base and derived values. */
  feasible(values: Readonly<Assignment>): boolean;
  /** The program searched (proposers run it, e.g. to bootstrap demos); trials run copies of it. */
  program: BoundProgram;
  /** The run's metric. */
  metric: Metric;
  /** The process the run's tasks start from (a proposer's own tasks too). */
  caller: Caller;
  /** What the run optimizes, in order (the first decides `best`). */
  objectives: readonly ObjectiveSpec[];
  /** How many trials run at once: up to this many asks are outstanding. */
  concurrency: number;
}

/**
 * Proposes assignments. `ask` resolving to undefined means the sampler has nothing more to try; the n-th
 * assignment it proposes (from 0) becomes trial number n, which `tell` reports once finished (in finishing
 * order). `close` is called once when the run ends, however it ends: free what the sampler holds there.
 */
export interface Sampler {
  readonly name: string;
  /**
   * The variables this sampler proposes values for, when optimize() is given no `variables` (proposers of demos
   * or instructions, whose variables have no domain to search). Default: every bound variable with a domain.
   */
  variablesOf?(program: BoundProgram): readonly string[];
  ask(context: SamplerContext): Assignment | undefined | Promise<Assignment | undefined>;
  tell?(trial: Trial, context: SamplerContext): void | Promise<void>;
  close?(): void | Promise<void>;
}

/** The values search may take for a variable, or undefined when it has none to choose among (text without candidates). */
export function domainOf(spec: VariableSpec, floatPoints: number): readonly JsonValue[] | undefined {
  switch (spec.kind) {
    case 'float':
    case 'int': {
      if (spec.kind === 'float' && spec.step === undefined && spec.log === true) {
        const ratio = Math.log(spec.max / spec.min) / Math.max(1, floatPoints - 1);
        return Array.from({ length: spec.max === spec.min ? 1 : floatPoints }, (_, k) => Number((spec.min * Math.exp(k * ratio)).toPrecision(12)));
      }
      const step = spec.step ?? (spec.kind === 'int' ? 1 : (spec.max - spec.min) / Math.max(1, floatPoints - 1));
      if (step === 0) return [spec.min];
      const count = Math.floor((spec.max - spec.min) / step + 1e-9) + 1;
      return Array.from({ length: count }, (_, k) => Number((spec.min + k * step).toPrecision(12)));
    }
    case 'text':
      return spec.candidates;
    case 'demos':
      return spec.candidates as JsonValue[][] | undefined;
    default:
      return choicesOf(spec);
  }
}

/** A seeded PRNG (mulberry32), so a search can be replayed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Random search: each variable drawn independently (uniformly from its range or choices; a float without a step
 * continuously; a `log` variable log-uniformly), redrawn up to `maxRejections` times until the constraints hold.
 */
export function randomSearch(options: { seed?: number; maxRejections?: number } = {}): Sampler {
  const random = seededRandom(options.seed ?? 0);
  const maxRejections = options.maxRejections ?? 100;
  const draw = (spec: VariableSpec): JsonValue | undefined => {
    if ((spec.kind === 'float' || spec.kind === 'int') && spec.log === true) {
      const value = Math.exp(Math.log(spec.min) + random() * Math.log(spec.max / spec.min));
      return spec.kind === 'int' ? Math.min(spec.max, Math.max(spec.min, Math.round(value))) : value;
    }
    if (spec.kind === 'float' && spec.step === undefined) return spec.min + random() * (spec.max - spec.min);
    const domain = domainOf(spec, 2);
    return domain === undefined || domain.length === 0 ? undefined : domain[Math.floor(random() * domain.length)]!;
  };
  return {
    name: 'random',
    ask(context) {
      for (let attempt = 0; attempt < maxRejections; attempt++) {
        const values: Assignment = {};
        for (const v of context.variables) {
          const value = draw(context.space.variables[v]!);
          if (value !== undefined) values[v] = value;
        }
        if (context.feasible(values)) return values;
      }
      return undefined;
    },
  };
}

/**
 * Grid search: every combination of the variables' domains (floats without a step at `floatPoints` evenly
 * spaced values, default 5), in order, skipping combinations the constraints refuse; done when all are tried.
 */
export function gridSearch(options: { floatPoints?: number } = {}): Sampler {
  let next = 0;
  return {
    name: 'grid',
    ask(context) {
      const axes = context.variables.map((v) => [v, domainOf(context.space.variables[v]!, options.floatPoints ?? 5)] as const).filter((a): a is readonly [string, readonly JsonValue[]] => a[1] !== undefined && a[1].length > 0);
      const total = axes.reduce((n, [, d]) => n * d.length, 1);
      while (next < total) {
        let index = next++;
        const values: Assignment = {};
        for (let i = axes.length - 1; i >= 0; i--) {
          const [v, domain] = axes[i]!;
          values[v] = domain[index % domain.length]!;
          index = Math.floor(index / domain.length);
        }
        if (context.feasible(values)) return values;
      }
      return undefined;
    },
  };
}
