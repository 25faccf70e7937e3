// A DSPy program living in a Python pool, seen as a Program: call() sends the bridge's `call` command for its
// handle in its session and wraps the answer as a Prediction, so evaluate() measures it exactly as a native
// module. When its worker dies, the session is rebuilt and the program recreated once, before the next call.

import { SessionWorkerLost, type CallOptions } from '@dspex/python-bridge';
import { EvaluateConfigError, Prediction, currentStreamSink, isPlainRecord, isWorkerLoss, streamEvents, type Inputs, type Program, type ProgramCallOptions, type StreamEvent } from 'dspex';
import { streamPythonCall, type StreamingSession } from './python_stream.js';

/** The part of a bridge Session this adapter uses (`pool.session()` gives one). */
export interface PythonSession {
  readonly id: string;
  call<T = unknown>(command: string, args?: Record<string, unknown>, options?: CallOptions): Promise<T>;
  rebuild(): Promise<void>;
  /** The bridge's streaming call (`session.stream()`); without it a streamed call gives the prediction only. */
  stream?: StreamingSession['stream'];
}

/** Options of `pythonProgram`: whether examples are idempotent (retried once when the worker dies) and how to recreate the program. */
export interface PythonProgramOptions {
  /** The program has no side effects: evaluate() retries an example once when its worker died. Default false. */
  idempotent?: boolean;
  /** Per-call limit in Python (default: the pool's callTimeoutMs). */
  timeoutMs?: number;
  /**
   * Sets the program up again in the rebuilt session after its worker died (configure_lm, then create or
   * load) and returns the new handle. Without it, calls after a worker death fail with SessionWorkerLost.
   */
  recreate?: (session: PythonSession) => Promise<string>;
}

/** The bridge's `call` result as a Prediction: its fields, and every completion when it carries several. */
export function predictionFromPython(value: unknown): Prediction {
  if (!isPlainRecord(value)) throw new EvaluateConfigError(`the Python program returned ${JSON.stringify(value)}, not a Prediction's fields.`);
  const { completions, ...fields } = value;
  if (Array.isArray(completions) && completions.length > 1 && completions.every(isPlainRecord)) return Prediction.fromCompletions(completions);
  return new Prediction(fields);
}

/** A DSPy program living in a Python pool, evaluated like a native one (`pythonProgram(session, handle)`); rebuilt when its worker dies. */
export class PythonProgram implements Program {
  readonly idempotent: boolean;
  private currentHandle: string;
  /** Bumped by every recovery; a call remembers the generation it started in. */
  private generation = 0;
  private recovery: Promise<void> | undefined;

  constructor(
    readonly session: PythonSession,
    handle: string,
    private readonly options: PythonProgramOptions = {},
  ) {
    if (typeof handle !== 'string' || handle === '') throw new EvaluateConfigError('pythonProgram needs the handle returned by the `create` or `load` command.');
    this.currentHandle = handle;
    this.idempotent = options.idempotent ?? false;
  }

  get handle(): string {
    return this.currentHandle;
  }

  async call(inputs: Inputs, options: ProgramCallOptions = {}): Promise<Prediction> {
    if (this.recovery !== undefined) await this.recovery;
    const generation = this.generation;
    const callOptions: CallOptions = { ...(options.signal === undefined ? {} : { signal: options.signal }), ...(this.options.timeoutMs === undefined ? {} : { timeoutMs: this.options.timeoutMs }) };
    try {
      // Inside program.stream() (this program's, or a router's) the call streams through DSPy's streamify.
      const sink = currentStreamSink();
      if (sink !== undefined && this.session.stream !== undefined) {
        return predictionFromPython(await streamPythonCall(this.session as StreamingSession, this.currentHandle, inputs, callOptions, sink));
      }
      return predictionFromPython(await this.session.call('call', { handle: this.currentHandle, kwargs: inputs }, callOptions));
    } catch (error) {
      if (!(error instanceof Error)) throw error;
      if (isWorkerLoss(error)) {
        this.recover(generation);
        throw error;
      }
      // Sent with the old handle to the worker of a rebuilt session: as lost as the worker itself.
      if (generation !== this.generation && (error as { pythonType?: unknown }).pythonType === 'UnknownHandle') {
        throw new SessionWorkerLost(this.session.id, 'replaced');
      }
      throw error;
    }
  }

  /** call() as events: field deltas from DSPy's streamify (bridge command `call_stream`), then the prediction. */
  stream(inputs: Inputs, options: ProgramCallOptions = {}): AsyncIterable<StreamEvent> {
    return streamEvents(undefined, (signal) => this.call(inputs, { ...options, signal }), options.signal);
  }

  /** One recovery per lost worker: the first call to see the loss starts it, later ones wait for it. */
  private recover(seenIn: number): void {
    const recreate = this.options.recreate;
    if (recreate === undefined || seenIn !== this.generation || this.recovery !== undefined) return;
    this.recovery = (async () => {
      try {
        await this.session.rebuild();
        this.currentHandle = await recreate(this.session);
      } finally {
        this.generation++;
        this.recovery = undefined;
      }
    })();
    // A failed recovery surfaces in the calls that follow (their own errors); it must not be unhandled here.
    this.recovery.catch(() => undefined);
  }
}

/** A Program for the object `handle` of `session`: `evaluate(pythonProgram(session, handle), devset, metric)`. */
export function pythonProgram(session: PythonSession, handle: string, options: PythonProgramOptions = {}): PythonProgram {
  return new PythonProgram(session, handle, options);
}

/**
 * Runs `setup` in the session (configure_lm, create or load; it returns the handle) and gives the Program,
 * with `setup` kept as its recreate step, so a worker's death costs one retry instead of the example.
 */
export async function setupPythonProgram(session: PythonSession, setup: (session: PythonSession) => Promise<string>, options: Omit<PythonProgramOptions, 'recreate'> = {}): Promise<PythonProgram> {
  return new PythonProgram(session, await setup(session), { ...options, recreate: setup });
}
