// One example, as DSPy's process_item: the program on the example's inputs, then the metric. Runs inside the
// example's task; every failure becomes an outcome (never a throw), and an idempotent program whose Python
// worker died mid-call gets exactly one more try.

import type { Example } from '../primitives/example.js';
import type { Prediction } from '../primitives/prediction.js';
import { EvaluateConfigError, ExampleCancelled } from './errors.js';
import type { Metric, Program } from './types.js';

export type ExampleOutcome =
  | { readonly index: number; readonly ok: true; readonly prediction: Prediction; readonly score: number; readonly attempts: number; readonly durationMs: number }
  | { readonly index: number; readonly ok: false; readonly error: Error; readonly attempts: number; readonly durationMs: number };

export interface ExampleContext {
  program: Program;
  metric: Metric;
  now: () => number;
  /** Told before the second try of an example whose worker died. */
  onRetry: (index: number, error: Error) => void;
}

/** Codes of the bridge errors that mean "the Python process answering this call is gone". */
const WORKER_LOSS_CODES: ReadonlySet<string> = new Set(['DSPEX_WORKER_CRASHED', 'DSPEX_SESSION_WORKER_LOST']);

export function errorCode(error: Error): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : error.name;
}

/**
 * @internal Whether `error` says the Python process answering the call is gone (a crashed worker, a lost session):
 * the case `evaluate()` retries an idempotent example on. Exported for @dspex/orchestration's pythonProgram.
 */
export function isWorkerLoss(error: Error): boolean {
  return WORKER_LOSS_CODES.has(errorCode(error));
}

export function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(typeof value === 'string' ? value : `non-Error thrown: ${String(value)}`);
}

/** The metric's value as a number: a bool counts 1 or 0 (Python's sum does the same). */
export function scoreOf(value: unknown): number {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'number' && !Number.isNaN(value)) return value;
  throw new EvaluateConfigError(`the metric returned ${typeof value === 'number' ? 'NaN' : typeof value}; a metric returns a number or a boolean.`);
}

/** `promise`, or a rejection as soon as `signal` aborts: an example stops at once even if its program ignores the signal. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal, index: number): Promise<T> {
  if (signal.aborted) return Promise.reject(abortError(signal, index));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal, index));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(asError(error));
      },
    );
  });
}

function abortError(signal: AbortSignal, index: number): Error {
  return signal.reason instanceof Error && 'code' in signal.reason ? signal.reason : new ExampleCancelled(index, signal.reason);
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';
}

function inputsOf(example: Example): Record<string, unknown> {
  return Object.fromEntries(example.inputs().items());
}

export async function runExample(index: number, example: Example, ctx: ExampleContext, signal: AbortSignal): Promise<ExampleOutcome> {
  const started = ctx.now();
  let attempts = 0;
  try {
    const inputs = inputsOf(example);
    let prediction: Prediction;
    for (;;) {
      attempts++;
      try {
        prediction = await untilAborted(ctx.program.call(inputs, { signal }), signal, index);
        break;
      } catch (raw) {
        const error = asError(raw);
        if (attempts > 1 || ctx.program.idempotent !== true || !isWorkerLoss(error) || signal.aborted) throw error;
        ctx.onRetry(index, error);
      }
    }
    const value = ctx.metric(example, prediction);
    // Most metrics are synchronous: only a promise needs watching for an abort.
    const score = scoreOf(isPromiseLike(value) ? await untilAborted(Promise.resolve(value), signal, index) : value);
    return { index, ok: true, prediction, score, attempts, durationMs: ctx.now() - started };
  } catch (raw) {
    return { index, ok: false, error: asError(raw), attempts: Math.max(attempts, 1), durationMs: ctx.now() - started };
  }
}
