// proposeInstructions(): a Sampler for `text` variables bound to instructions. On its first ask it sends each
// bound predictor (as its DSPy twin, with its current instructions) to a Python pool, where the bridge's
// `propose_instructions` runs DSPy's own GroundedProposer (MIPROv2's proposer) with a dspy.LM pointed at the
// same LM endpoint as the Node side; the proposals become the variables' candidates, and an inner sampler
// (grid search by default) picks the assignments optimize() evaluates as trials.

import type { PythonPool } from '@dspex/python-bridge';
import { runtimeOf } from '@dspex/runtime';
import { currentSettings, lmEndpoint, type Example, type LM } from 'dspex';
import { nanoid } from 'nanoid';
import { pythonTwin, stateForPython } from '../python/python_twin.js';
import { pythonLmSpec } from '../router/python_lm.js';
import type { BoundProgram } from '../variables/binding.js';
import type { VariableSpec } from '../variables/kinds.js';
import { OptimizeConfigError } from './errors.js';
import { gridSearch, type Sampler, type SamplerContext } from './samplers.js';

/** Options of proposeInstructions: where and with which LM DSPy proposes, how many, and how the proposals are searched. */
export interface ProposeInstructionsOptions {
  /** The Python pool DSPy runs in (the application's `optimizer` pool). */
  pool: PythonPool;
  /**
   * The LM DSPy proposes with: a bridge LM spec ({ model, api_base, api_key, ... }), or the name of a running LM
   * client (its endpoint, as the Router configures Python). Default: the LM client the bound predictor uses.
   */
  lm?: Record<string, unknown> | string;
  /** Proposals per variable. Default 5. */
  candidates?: number;
  /** The text variables to propose for, each bound to instructions. Default: every text variable the program binds. */
  variables?: readonly string[];
  /** Examples DSPy summarizes for a data-aware proposal (GroundedProposer's dataset description). */
  trainset?: readonly Example[];
  /** The trainset's input fields. Default the first example's withInputs keys. */
  inputKeys?: readonly string[];
  /** GroundedProposer's granted settings, e.g. { init_temperature: 1.2, use_tip: false, view_data_batch_size: 5 }. */
  proposerKwargs?: Record<string, unknown>;
  /** Seeds the proposer's tip choice and rollout ids. Default 0. */
  seed?: number;
  /** Keep the current instructions among the candidates (the baseline). Default true. */
  includeCurrent?: boolean;
  /** Chooses among the candidates (several variables: combinations). Default gridSearch(). */
  search?: Sampler;
  /** Limit of each proposal call in Python. Default the pool's callTimeoutMs. */
  timeoutMs?: number;
}

function isLmClient(lm: LM | null | undefined): lm is LM & { name: string; serverName: string } {
  return lm !== null && lm !== undefined && typeof (lm as { name?: unknown }).name === 'string' && typeof (lm as { serverName?: unknown }).serverName === 'string';
}

/** The text variables `program` binds (a text variable binds only to instructions). */
function textVariables(program: BoundProgram): string[] {
  return program.variables.filter((v) => program.space.definition.variables[v]?.kind === 'text');
}

/**
 * A Sampler whose candidates for instruction (`text`) variables are proposed by DSPy's GroundedProposer in a
 * Python pool: `candidates` proposals per variable (plus the current instructions), searched by `search`. A
 * variable bound to several predictors gets proposals made for the first. The proposal fails the run with
 * OptimizeSamplerError (cause: the bridge's error) when Python cannot propose.
 */
export function proposeInstructions(options: ProposeInstructionsOptions): Sampler {
  const count = options.candidates ?? 5;
  if (!Number.isInteger(count) || count < 1) throw new OptimizeConfigError('proposeInstructions.candidates', `must be a positive integer, not ${String(count)}.`);
  if (options.pool === undefined) throw new OptimizeConfigError('proposeInstructions.pool', 'is required: the Python pool DSPy proposes in.');
  const search = options.search ?? gridSearch();
  let proposing: Promise<SamplerContext['space']> | undefined;
  const inner = (context: SamplerContext, space: SamplerContext['space']): SamplerContext => ({ ...context, space });

  const lmSpec = async (context: SamplerContext, lm: LM | null): Promise<Record<string, unknown>> => {
    const chosen = options.lm ?? (isLmClient(lm) ? lm.name : undefined);
    if (chosen === undefined) throw new OptimizeConfigError('proposeInstructions.lm', 'the bound predictor has no LM client to propose with: pass { lm: a bridge LM spec or the name of an LM client }.');
    return typeof chosen === 'string' ? pythonLmSpec(await lmEndpoint(context.caller, chosen)) : chosen;
  };

  /** The space with each text variable's candidates replaced by the proposals (and the current instructions). */
  const propose = async (context: SamplerContext): Promise<SamplerContext['space']> => {
    const variables = context.variables.filter((v) => context.space.variables[v]?.kind === 'text');
    if (variables.length === 0) throw new OptimizeConfigError('variables', `proposeInstructions proposes for text variables bound to instructions, and none of ${JSON.stringify(context.variables)} is one.`);
    const applied = context.program.withValues(context.base);
    const predictors = variables.map((variable) => {
      const [predictor] = context.program.predictorsOf(variable, applied.program);
      if (predictor === undefined) throw new OptimizeConfigError('variables', `"${variable}" is bound to no predictor.`);
      return [variable, predictor] as const;
    });
    const trainset = options.trainset ?? [];
    const inputKeys = [...(options.inputKeys ?? trainset[0]?.inputKeys ?? [])];
    if (trainset.length > 0 && inputKeys.length === 0) throw new OptimizeConfigError('proposeInstructions.inputKeys', "the trainset's input fields are unknown: call withInputs() on its examples or pass inputKeys.");
    const spec = await lmSpec(context, predictors[0]![1].lm ?? currentSettings().lm ?? null);
    const session = options.pool.session(`propose-${nanoid(8)}`, { affinity: 'strict_queue' });
    const callOptions = options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs };
    const variablesWithCandidates: Record<string, VariableSpec> = { ...context.space.variables };
    try {
      await session.call('configure_lm', spec);
      for (const [variable, predictor] of predictors) {
        const { handle } = await session.call<{ handle: string }>('load', { ...pythonTwin(predictor), state: stateForPython(await predictor.save()) });
        const { instructions } = await session.call<{ instructions: string[][] }>(
          'propose_instructions',
          {
            handle,
            n: count,
            seed: options.seed ?? 0,
            ...(trainset.length === 0 ? {} : { trainset: trainset.map((example) => example.toDict()), input_keys: inputKeys }),
            ...(options.proposerKwargs === undefined ? {} : { proposer_kwargs: options.proposerKwargs }),
          },
          callOptions,
        );
        const current = String(context.base[variable] ?? predictor.signature.instructions);
        const texts = [...(options.includeCurrent === false ? [] : [current]), ...(instructions[0] ?? [])].map((t) => t.trim()).filter((t) => t.length > 0);
        variablesWithCandidates[variable] = { ...(context.space.variables[variable] as VariableSpec & { kind: 'text' }), candidates: [...new Set(texts)] };
      }
    } finally {
      // The worker frees the session's objects on its TTL otherwise: worth a warning, not a failed run.
      await session.close().catch((error: unknown) => runtimeOf(context.caller).logger.warn({ err: error }, 'proposeInstructions: closing the proposal session failed'));
    }
    return { ...context.space, variables: variablesWithCandidates };
  };

  return {
    name: 'propose_instructions',
    variablesOf: (program) => options.variables ?? textVariables(program),
    async ask(context) {
      proposing ??= propose(context);
      return search.ask(inner(context, await proposing));
    },
    async tell(trial, context) {
      if (proposing !== undefined) await search.tell?.(trial, inner(context, await proposing));
    },
  };
}
