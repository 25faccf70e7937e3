// Shared setup of the optimizer tests: real DSPy through teleprompt_reference.py (one JSON request, one answer),
// the same programs natively (Predict, ChainOfThought, a two-predictor TwoStep), a trainset with known answers,
// and an LM that answers by question key exactly as DSPy's DummyLM does in its dict mode, counting concurrency.

import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LM, LMConfig, LMRequest, LMResponse } from '../src/primitives/lm.js';
import { Example } from '../src/primitives/example.js';
import { Module, type CallOptions, type Inputs } from '../src/program/module.js';
import type { Prediction } from '../src/primitives/prediction.js';
import { ChainOfThought } from '../src/predict/chain_of_thought.js';
import { Predict } from '../src/predict/predict.js';
import { PYTHON } from './support/dspy_reference.js';
import { formatAnswer } from './support/scripted_lm.js';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'teleprompt_reference.py');

export type ProgramKind = 'predict' | 'cot' | 'two_step';
export type Answers = Record<string, Record<string, string>>;

export interface ReferenceRequest {
  optimizer: 'BootstrapFewShot' | 'LabeledFewShot';
  program: ProgramKind;
  trainset: Array<Record<string, string>>;
  input_keys: string[];
  answers: Answers;
  metric?: { kind: 'exact' | 'scored'; field: string };
  kwargs?: Record<string, unknown>;
  compile?: Record<string, unknown>;
}

export interface ReferenceResponse {
  demos?: Record<string, Array<Record<string, unknown>>>;
  compiled?: boolean;
  error?: string;
  message?: string;
}

/** Runs real DSPy on `request`; rejects with DSPy's stderr when the script itself fails. */
export function dspyOptimize(request: ReferenceRequest): Promise<ReferenceResponse> {
  return new Promise((resolve, reject) => {
    const child = execFile(PYTHON, [SCRIPT], { maxBuffer: 16 * 1024 * 1024, env: { ...process.env, PYTHONIOENCODING: 'utf-8' } }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`teleprompt_reference.py failed (${error.message}):\n${stderr}`));
      try {
        resolve(JSON.parse(stdout) as ReferenceResponse);
      } catch (parseError) {
        reject(new Error(`teleprompt_reference.py answered no JSON (${String(parseError)}):\n${stdout}\n${stderr}`));
      }
    });
    child.stdin!.end(JSON.stringify(request));
  });
}

/** The Python TwoStep of teleprompt_reference.py: a draft, then an answer that reasons over it. */
export class TwoStep extends Module {
  draft = new Predict('question -> draft');
  answer = new ChainOfThought('question, draft -> answer');

  override async forward(inputs: Inputs, options?: CallOptions): Promise<Prediction> {
    const draft = await this.draft.call({ question: inputs['question'] as string }, options);
    return this.answer.call({ question: inputs['question'] as string, draft: draft.draft }, options);
  }
}

export function buildProgram(kind: ProgramKind): Module {
  if (kind === 'predict') return new Predict('question -> answer');
  if (kind === 'cot') return new ChainOfThought('question -> answer');
  return new TwoStep();
}

/** `n` questions "Q<i>: what is i + i?"; the LM's answer is right unless `wrong(i)`, and missing when `missing(i)`. */
export function arithmetic(n: number, wrong: (i: number) => boolean, missing: (i: number) => boolean = () => false) {
  const rows = Array.from({ length: n }, (_, i) => ({ question: `Q${i}: what is ${i} + ${i}?`, answer: String(2 * i) }));
  const answers: Answers = {};
  rows.forEach((row, i) => {
    if (!missing(i)) answers[`Q${i}:`] = { draft: `D${i}`, reasoning: `add ${i} twice`, answer: wrong(i) ? 'wrong' : row.answer };
  });
  const trainset = rows.map((row) => new Example(row).withInputs('question'));
  return { rows, answers, trainset };
}

/** DSPy's metric of the reference script: the field equals the example's. */
export function exactMetric(field: string) {
  return (example: Example, prediction: Prediction): boolean => String(example.get(field)) === String(prediction.get(field));
}

export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * DummyLM's dict mode: the answer of the first key contained in the last message, formatted as ChatAdapter
 * sections, or the raw text "No more responses" (which no adapter can parse) when no key matches. `gate` can
 * hold calls (to count how many run at once).
 */
export class KeyedLM implements LM {
  readonly model = 'dummy';
  readonly defaults: LMConfig = { temperature: 0, max_tokens: 1000 };
  readonly configs: LMConfig[] = [];
  /** Every request's messages, joined. */
  readonly prompts: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  calls = 0;

  constructor(
    private readonly answers: Answers,
    private readonly gate?: (inFlight: number) => Promise<void> | undefined,
  ) {}

  async call(request: LMRequest): Promise<LMResponse> {
    this.calls++;
    this.configs.push({ ...(request.config ?? {}) });
    this.prompts.push(request.messages.map((m) => m.content).join('\n'));
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await this.gate?.(this.inFlight);
      const last = request.messages[request.messages.length - 1]?.content ?? '';
      const hit = Object.entries(this.answers).find(([key]) => last.includes(key));
      const text = hit ? formatAnswer(hit[1], 'chat') : 'No more responses';
      return { outputs: [{ text, finishReason: 'stop' }], usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 }, model: this.model, cached: false };
    } finally {
      this.inFlight--;
    }
  }
}

/** Each predictor's demos as saved JSON (what DSPy's dump_state writes), keyed like DSPy's named_predictors. */
export function demosOf(program: Module): Record<string, unknown[]> {
  const state = program.dumpState();
  if ('demos' in state) return { self: state['demos'] as unknown[] }; // a bare Predict dumps its own state
  return Object.fromEntries(Object.entries(state).map(([name, state]) => [name, (state as { demos: unknown[] }).demos]));
}
