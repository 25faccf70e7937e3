// bootstrapDemos(): a Sampler for `demos` variables that proposes DSPy's BootstrapFewShotWithRandomSearch
// candidates (zero-shot, labeled only, bootstrapped in trainset order, then bootstrapped from shuffled trainsets
// of random sizes, one per seed), each made by dspex's native BootstrapFewShot on a copy of the bound program.
// optimize() evaluates every candidate as a trial, so the search is supervised, concurrent and recorded.

import { BootstrapFewShot, PyRandom, labeledFewShot, type Example, type Module, type Settings, type TelepromptMetric } from 'dspex';
import type { JsonValue } from '@dspex/store';
import type { BoundProgram } from '../variables/binding.js';
import type { Assignment } from '../variables/kinds.js';
import { OptimizeConfigError } from './errors.js';
import type { Sampler, SamplerContext } from './samplers.js';

/** Options of bootstrapDemos: the trainset demos come from, and BootstrapFewShotWithRandomSearch's settings. */
export interface BootstrapDemosOptions {
  /** The examples the teacher runs on (demos are made from those the metric passes); keep it apart from the devset. */
  trainset: readonly Example[];
  /** The demos variables to fill, each bound to one predictor. Default: every demos variable the program binds. */
  variables?: readonly string[];
  /** Judges bootstrapped examples. Default the run's metric. */
  metric?: TelepromptMetric;
  metricThreshold?: number | null;
  /** The program whose traces become demos. Default a copy of the program at the space's current values. */
  teacher?: Module;
  /**
   * Settings over the caller's while the teacher runs (DSPy's teacher_settings), e.g. { lm }. Default: the LM
   * the program's predictors share (DSPy's teacher drops its predictors' LMs) and the bound adapter.
   */
  teacherSettings?: Partial<Settings>;
  /** The most bootstrapped demos a candidate holds. Default 4. */
  maxBootstrappedDemos?: number;
  /** The fewest, for the random-size candidates. Default 1. */
  minBootstrappedDemos?: number;
  /** Labeled demos added after the bootstrapped ones (and the labeled-only candidate's count). Default 16. */
  maxLabeledDemos?: number;
  /** Shuffled candidates after the three fixed ones (DSPy's num_candidate_programs). Default 16. */
  candidateSets?: number;
  maxRounds?: number;
  maxErrors?: number;
}

/** DSPy's seeds: -3 zero-shot, -2 labeled only, -1 bootstrapped unshuffled, 0.. shuffled with a random size. */
function candidateSeeds(candidateSets: number): number[] {
  return Array.from({ length: candidateSets + 3 }, (_, i) => i - 3);
}

/** The demos variables `program` binds, when none are named. */
function demosVariables(program: BoundProgram): string[] {
  return program.variables.filter((v) => program.space.definition.variables[v]?.kind === 'demos');
}

function checked(name: string, value: number | undefined, fallback: number, min: number): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < min) throw new OptimizeConfigError(`bootstrapDemos.${name}`, `must be an integer >= ${min}, not ${String(n)}.`);
  return n;
}

/**
 * The one predictor of `root` each searched demos variable writes into (other searched variables stay at the
 * space's values); OptimizeConfigError when there is none, or one is bound to several predictors.
 */
function predictorsByVariable(program: BoundProgram, variables: readonly string[], root: Module) {
  const demos = variables.filter((v) => program.space.definition.variables[v]?.kind === 'demos');
  if (demos.length === 0) throw new OptimizeConfigError('variables', `bootstrapDemos fills demos variables, and none of ${JSON.stringify(variables)} is one: bind one (e.g. 'qa.predict.demos': 'demos').`);
  return demos.map((variable) => {
    const predictors = program.predictorsOf(variable, root);
    if (predictors.length !== 1) throw new OptimizeConfigError('variables', `"${variable}" is bound to ${predictors.length} predictors; bootstrapDemos fills a demos variable bound to exactly one (e.g. 'qa.predict.demos'), so bind one variable per predictor.`);
    return [variable, predictors[0]!] as const;
  });
}

/**
 * A Sampler proposing demo sets for `demos` variables, as DSPy's BootstrapFewShotWithRandomSearch builds its
 * candidate programs: zero-shot, `maxLabeledDemos` labeled demos, BootstrapFewShot over the trainset in order,
 * then for each of `candidateSets` seeds BootstrapFewShot over the trainset shuffled with random.Random(seed),
 * keeping random.Random(seed).randint(min, max) bootstrapped demos. Each candidate is bootstrapped when optimize()
 * asks for it (while earlier trials run); a demo set already proposed is skipped.
 */
export function bootstrapDemos(options: BootstrapDemosOptions): Sampler {
  const maxBootstrapped = checked('maxBootstrappedDemos', options.maxBootstrappedDemos, 4, 0);
  const minBootstrapped = checked('minBootstrappedDemos', options.minBootstrappedDemos, 1, 0);
  const maxLabeled = checked('maxLabeledDemos', options.maxLabeledDemos, 16, 0);
  const seeds = candidateSeeds(checked('candidateSets', options.candidateSets, 16, 0));
  if (minBootstrapped > maxBootstrapped) throw new OptimizeConfigError('bootstrapDemos.minBootstrappedDemos', `(${minBootstrapped}) exceeds maxBootstrappedDemos (${maxBootstrapped}).`);
  if (!Array.isArray(options.trainset) || options.trainset.length === 0) throw new OptimizeConfigError('bootstrapDemos.trainset', 'is empty: demos are bootstrapped from trainset examples.');
  let next = 0;
  const proposed = new Set<string>();

  const bootstrap = (context: SamplerContext, student: Module, defaults: Partial<Settings>, size: number, trainset: readonly Example[]): Promise<Module> =>
    new BootstrapFewShot({
      metric: options.metric ?? context.metric,
      maxBootstrappedDemos: size,
      maxLabeledDemos: maxLabeled,
      runtime: context.caller,
      ...(options.metricThreshold === undefined ? {} : { metricThreshold: options.metricThreshold }),
      ...(options.maxRounds === undefined ? {} : { maxRounds: options.maxRounds }),
      ...(options.maxErrors === undefined ? {} : { maxErrors: options.maxErrors }),
      teacherSettings: { ...defaults, ...options.teacherSettings },
    }).compile(student, { trainset, ...(options.teacher === undefined ? {} : { teacher: options.teacher }) });

  /** The program holding the candidate's demos for `seed`. */
  const candidate = async (context: SamplerContext, seed: number): Promise<Module> => {
    const applied = context.program.withValues(context.base);
    const student = applied.program;
    // DSPy resets the teacher (LM included) before giving it labeled demos, so it runs on the settings' LM: give
    // it the LM the program's predictors use, when they share one (an `lm` variable's current choice included).
    const lms = new Set(student.predictors().map((p) => p.lm).filter((lm) => lm !== null));
    const defaults: Partial<Settings> = {
      ...(lms.size === 1 ? { lm: [...lms][0]! } : {}),
      ...(applied.adapter === undefined ? {} : { adapter: applied.adapter }),
    };
    if (seed === -3) return student.resetCopy();
    if (seed === -2) return labeledFewShot(student.resetCopy(), options.trainset, maxLabeled, true, 0);
    if (seed === -1) return bootstrap(context, student, defaults, maxBootstrapped, options.trainset);
    const shuffled = [...options.trainset];
    new PyRandom(seed).shuffle(shuffled);
    const size = minBootstrapped + new PyRandom(seed).randbelow(maxBootstrapped - minBootstrapped + 1);
    return bootstrap(context, student, defaults, size, shuffled);
  };

  return {
    name: 'bootstrap_demos',
    variablesOf: (program) => options.variables ?? demosVariables(program),
    async ask(context) {
      while (next < seeds.length) {
        const program = await candidate(context, seeds[next++]!);
        const values: Assignment = {};
        for (const [variable, predictor] of predictorsByVariable(context.program, context.variables, program)) {
          values[variable] = predictor.demos.map((demo) => JSON.parse(JSON.stringify(demo.toDict())) as JsonValue);
        }
        const key = JSON.stringify(values);
        if (proposed.has(key)) continue;
        proposed.add(key);
        return values;
      }
      return undefined;
    },
  };
}
