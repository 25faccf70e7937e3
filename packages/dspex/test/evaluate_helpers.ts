// Shared setup of the Evaluate tests: a silent runtime, a scripted LM that answers a native Predict in the
// ChatAdapter format (and can hold, fail or count calls), an output stream that records what it was given,
// arithmetic devsets with known answers, and waits on Evaluate's telemetry instead of sleeps.

import { PythonPools, type PoolOptions, type PythonPool } from '@dspex/python-bridge';
import { Runtime } from '@dspex/runtime';
import { pino } from 'pino';
import { chatAdapterReply, defaultAnswer, questionOf } from '../bench/openai_server.js';
import type { LM, LMConfig, LMRequest, LMResponse } from '../src/primitives/lm.js';
import { EvaluateTelemetry, type EvaluateTelemetryEvents, type OutputStream } from '../src/evaluate/index.js';
import { Example } from '../src/primitives/example.js';
import type { Prediction } from '../src/primitives/prediction.js';
import { Predict } from '../src/predict/predict.js';

export function quietRuntime(): Runtime {
  return new Runtime({ logger: pino({ level: process.env.DSPEX_TEST_LOG ?? 'silent' }) });
}

export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: Error) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** What the scripted LM does with one question: an answer, a thrown error, or a promise of either. */
export type Script = (question: string, signal: AbortSignal | undefined) => string | Promise<string>;

/** A native LM (the LM contract) answering every call from `script`, recording concurrency and aborts. */
export class ScriptedChatLM implements LM {
  readonly model = 'scripted/chat';
  readonly defaults: LMConfig = { temperature: 0 };
  readonly questions: string[] = [];
  readonly aborted: string[] = [];
  inFlight = 0;
  maxInFlight = 0;

  constructor(private readonly script: Script = defaultAnswer) {}

  async call(request: LMRequest): Promise<LMResponse> {
    const question = questionOf(request as { messages: Array<{ role: string; content: string }> });
    this.questions.push(question);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const onAbort = (): void => void this.aborted.push(question);
    request.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const text = await abortable(Promise.resolve(this.script(question, request.signal)), request.signal);
      return { outputs: [{ text: chatAdapterReply(text) }], usage: { promptTokens: 10, completionTokens: 2, totalTokens: 12 }, model: this.model, cached: false };
    } finally {
      this.inFlight--;
      request.signal?.removeEventListener('abort', onAbort);
    }
  }
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const fail = (): void => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    if (signal.aborted) fail();
    signal.addEventListener('abort', fail, { once: true });
    promise.then(resolve, reject);
  });
}

/** A native Predict('question -> answer') bound to `lm`. */
export function qaProgram(lm: LM): Predict {
  const predict = new Predict('question -> answer');
  predict.lm = lm;
  return predict;
}

/** `n` arithmetic examples ("What is i + 1?") whose answer is correct unless `wrong(i)`. */
export function mathDevset(n: number, wrong: (i: number) => boolean = () => false): Example[] {
  return Array.from({ length: n }, (_, i) => new Example({ question: `What is ${i} + 1?`, answer: String(wrong(i) ? -1 : i + 1) }).withInputs('question'));
}

/** DSPy's answer_exact_match in its simplest form. */
export function exactMatch(example: Example, prediction: Prediction): boolean {
  return String(example.get('answer')) === String(prediction.get('answer'));
}

/** An output stream that keeps everything written to it. */
export function captureOutput(isTTY = false, columns = 100): OutputStream & { text(): string } {
  const chunks: string[] = [];
  return { isTTY, columns, write: (text: string) => chunks.push(text), text: () => chunks.join('') };
}

type EventName = keyof EvaluateTelemetryEvents;
type EventOf<E extends EventName> = EvaluateTelemetryEvents[E][0];

/** The next `event` matching `match` on `telemetry` (subscribe before causing it). */
export function nextEvalEvent<E extends EventName>(telemetry: EvaluateTelemetry, event: E, match: (e: EventOf<E>) => boolean = () => true): Promise<EventOf<E>> {
  return new Promise((resolve) => {
    const listener = (e: EventOf<E>): void => {
      if (!match(e)) return;
      telemetry.off(event, listener as never);
      resolve(e);
    };
    telemetry.on(event, listener as never);
  });
}

export { EvaluateTelemetry };

/** Starts a Python pool and resolves once `size` workers announced themselves (worker_start or stats). */
export async function startReadyPool(rt: Runtime, options: PoolOptions): Promise<PythonPool> {
  const pool = await PythonPools.start(rt, options);
  const want = options.size ?? 1;
  const up = new Set<number>();
  await new Promise<void>((resolve) => {
    const count = (osPid: number): void => {
      up.add(osPid);
      if (up.size >= want) {
        pool.telemetry.off('worker_start', listener);
        resolve();
      }
    };
    const listener = ({ osPid }: { osPid: number }): void => count(osPid);
    pool.telemetry.on('worker_start', listener);
    void pool.stats().then((stats) => stats.workerOsPids.forEach(count));
  });
  return pool;
}

/** Environment for Python workers calling a loopback server through litellm: no proxy, no network lookups. */
export const LOOPBACK_PYTHON_ENV = { NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost', LITELLM_LOCAL_MODEL_COST_MAP: 'True' };
