// DSPy's ReAct (dspy/predict/react.py): a tool-using agent over any signature. A Predict named `react` picks
// next_thought / next_tool_name / next_tool_args from DSPy 3.4's exact instructions; tools run and their
// observations join the trajectory; a ChainOfThought named `extract` reads the final outputs from it. On an LM
// that takes any schema ('grammar', the embedded model) JSONAdapter constrains the step: next_tool_name to the
// tool names (its Literal), next_tool_args to an object; the prompt stays DSPy's (chooseResponseFormat).

import { compileSignature } from '../signatures/compiler.js';
import { InputField, OutputField } from '../signatures/field.js';
import { ensureSignature, Signature } from '../signatures/signature.js';
import { t } from '../signatures/types.js';
import { Module, type CallOptions, type Inputs } from '../program/module.js';
import { Prediction } from '../primitives/prediction.js';
import { currentSettings } from '../program/settings.js';
import { TrajectoryOverflowError } from '../primitives/errors.js';
import { warn } from '../primitives/warnings.js';
import { ChainOfThought } from './chain_of_thought.js';
import { Predict, defaultAdapter } from './predict.js';
import { Tool, type ToolArgs, type ToolFunction } from './tool.js';
import { emitStatus } from '../streaming/stream_scope.js';
import type { Fields, SignatureInputs, SignatureOutputs, SignatureSource } from '../signatures/infer.js';
import { traceToolCall } from '../tracing/module_span.js';

/** A typed signature's outputs with ReAct's `trajectory`; loose outputs stay loose. */
export type WithTrajectory<O extends Fields> = Fields extends O ? Fields : { [K in 'trajectory' | keyof O]: K extends keyof O ? O[K] : Trajectory };

/** ReAct's trajectory: `thought_i`, `tool_name_i`, `tool_args_i`, `observation_i` by step. */
export type Trajectory = Record<string, unknown>;

/** Options of ReAct: `maxIters`, the most tool calls per forward (DSPy's max_iters, 20). */
export interface ReActOptions {
  /** Most tool calls per forward (DSPy's max_iters); 20 by default. */
  maxIters?: number;
}

/** Error codes the LM clients use for a prompt longer than the model's context (DSPy's ContextWindowExceededError). */
const CONTEXT_WINDOW_CODES = new Set(['DSPEX_LM_CONTEXT_WINDOW_EXCEEDED', 'DSPEX_CONTEXT_WINDOW_EXCEEDED', 'DSPEX_TRAJECTORY_OVERFLOW']);

/** Whether `error` says the prompt did not fit the model's context window. */
export function isContextWindowExceeded(error: unknown): boolean {
  if (error === null || typeof error !== 'object') return false;
  const { code, name } = error as { code?: unknown; name?: unknown };
  return (typeof code === 'string' && CONTEXT_WINDOW_CODES.has(code)) || name === 'ContextWindowExceededError';
}

/** DSPy's format_error_for_lm for a tool failure: the error's class and message (not a JS stack). */
function formatErrorForLm(error: unknown): string {
  if (error instanceof Error) return `\n${error.name}: ${error.message}`;
  return `\n${String(error)}`;
}

/** `S` is the signature as in Predict; the prediction also holds the `trajectory`. */
export class ReAct<S extends SignatureSource = SignatureSource> extends Module<SignatureInputs<S>, WithTrajectory<SignatureOutputs<S>>> {
  signature: Signature;
  maxIters: number;
  tools: Map<string, Tool>;
  react: Predict;
  extract: ChainOfThought;

  constructor(signature: S, tools: ReadonlyArray<Tool | ToolFunction>, options: ReActOptions = {}) {
    super();
    const base = ensureSignature(signature as Signature | string);
    this.signature = base;
    this.maxIters = options.maxIters ?? 20;

    const byName = new Map<string, Tool>();
    for (const tool of tools) {
      const wrapped = tool instanceof Tool ? tool : new Tool(tool as ToolFunction<ToolArgs>);
      byName.set(wrapped.name, wrapped);
    }
    const quoted = (names: readonly { name: string }[]): string => names.map((f) => `\`${f.name}\``).join(', ');
    const inputs = quoted(base.inputFields);
    const outputs = quoted(base.outputFields);
    const instr = base.instructions ? [`${base.instructions}\n`] : [];
    instr.push(
      `You are an Agent. In each episode, you will be given the fields ${inputs} as input. And you can see your past trajectory so far.`,
      `Your goal is to use one or more of the supplied tools to collect any necessary information for producing ${outputs}.\n`,
      'To do this, you will interleave next_thought, next_tool_name, and next_tool_args in each turn, and also when finishing the task.',
      'After each tool call, you receive a resulting observation, which gets appended to your trajectory.\n',
      'When writing next_thought, you may reason about the current situation and plan for future steps.',
      'When selecting the next_tool_name and its next_tool_args, the tool must be one of:\n',
    );
    byName.set(
      'finish',
      new Tool(() => 'Completed.', {
        name: 'finish',
        desc: `Marks the task as complete. That is, signals that all information for producing the outputs, i.e. ${outputs}, are now available to be extracted.`,
        args: {},
      }),
    );
    [...byName.values()].forEach((tool, index) => instr.push(`(${index + 1}) ${tool.toString()}`));
    instr.push('When providing `next_tool_args`, the value inside the field must be in JSON format');

    let reactSignature = base;
    for (const field of base.outputFields) reactSignature = reactSignature.delete(field.name);
    reactSignature = reactSignature
      .withInstructions(instr.join('\n'))
      .append('trajectory', InputField(), t.str)
      .append('next_thought', OutputField(), t.str)
      .append('next_tool_name', OutputField(), t.literal([...byName.keys()]))
      .append('next_tool_args', OutputField(), t.dict(t.str, t.any));
    const fallbackSignature = base.append('trajectory', InputField(), t.str);

    this.tools = byName;
    this.react = new Predict(reactSignature);
    this.extract = new ChainOfThought(fallbackSignature);
  }

  /** The trajectory as the adapter renders input fields (DSPy's _format_trajectory). */
  formatTrajectory(trajectory: Trajectory): string {
    const adapter = currentSettings().adapter ?? defaultAdapter();
    const fields = Object.fromEntries([...Object.keys(trajectory).map((key) => [key, InputField()] as const), ['x', OutputField()] as const]);
    return adapter.formatUserMessageContent(compileSignature(Signature.fromFields(fields)), trajectory);
  }

  override async forward(inputs: SignatureInputs<S>, options: CallOptions = {}): Promise<Prediction<WithTrajectory<SignatureOutputs<S>>>> {
    const { maxIters = this.maxIters, demos: _demos, ...passed } = options;
    const trajectory: Trajectory = {};
    for (let idx = 0; idx < maxIters; idx++) {
      let pred: Prediction;
      try {
        pred = await this.callWithTruncation(this.react, trajectory, inputs, passed);
      } catch (error) {
        if (!isContextWindowExceeded(error)) throw error;
        warn('DSPEX_REACT_TRAJECTORY_ENDED', `Ending the trajectory: ${(error as Error).message}`);
        break;
      }
      const toolName = pred.get<string>('next_tool_name');
      const toolArgs = pred.get<ToolArgs | null>('next_tool_args') ?? {};
      trajectory[`thought_${idx}`] = pred.get('next_thought');
      trajectory[`tool_name_${idx}`] = toolName;
      trajectory[`tool_args_${idx}`] = pred.get('next_tool_args');
      let called = false;
      try {
        const tool = this.tools.get(toolName);
        if (!tool) throw new RangeError(`'${String(toolName)}' is not one of the tools: ${[...this.tools.keys()].join(', ')}`);
        called = true;
        emitStatus({ kind: 'tool_start', tool: toolName, args: toolArgs, message: `Calling tool ${toolName}...` });
        trajectory[`observation_${idx}`] = await traceToolCall(tool, () => tool.call(toolArgs));
      } catch (error) {
        trajectory[`observation_${idx}`] = `Execution error in ${String(toolName)}: ${formatErrorForLm(error)}`;
      }
      // DSPy's StatusMessageProvider texts; nothing is sent outside program.stream().
      if (called) emitStatus({ kind: 'tool_end', tool: String(toolName), message: 'Tool calling finished! Querying the LLM with tool calling results...' });
      if (toolName === 'finish') break;
    }
    const extract = await this.callWithTruncation(this.extract, trajectory, inputs, passed);
    return new Prediction({ trajectory, ...Object.fromEntries(extract.items()) }) as Prediction<WithTrajectory<SignatureOutputs<S>>>;
  }

  /** Calls `module`; on a context-window overflow drops the oldest tool call and tries again, three times at most. */
  private async callWithTruncation(module: Module, trajectory: Trajectory, inputs: Inputs, options: CallOptions): Promise<Prediction> {
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        return await module.call({ ...inputs, trajectory: this.formatTrajectory(trajectory) }, options);
      } catch (error) {
        if (!isContextWindowExceeded(error)) throw error;
        warn('DSPEX_REACT_TRAJECTORY_TRUNCATED', 'Trajectory exceeded the context window, truncating the oldest tool call information.');
        lastError = error;
        this.truncateTrajectory(trajectory);
      }
    }
    throw new TrajectoryOverflowError('The context window was exceeded even after 3 attempts to truncate the trajectory.', { cause: lastError });
  }

  /** Drops the oldest tool call (its four keys) in place; override for another policy (DSPy's truncate_trajectory). */
  truncateTrajectory(trajectory: Trajectory): Trajectory {
    const keys = Object.keys(trajectory);
    if (keys.length <= 4) {
      throw new TrajectoryOverflowError(
        'The trajectory is too long so your prompt exceeded the context window, but the trajectory cannot be truncated because it only has one tool call.',
      );
    }
    for (const key of keys.slice(0, 4)) delete trajectory[key];
    return trajectory;
  }
}
