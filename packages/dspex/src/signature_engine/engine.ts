// SignatureEngine: batch validation and prompt rendering on a piscina worker-thread pool that is a supervised
// process of the runtime (@dspex/runtime's WorkerPool). Batches are cut into chunks that spread over the
// threads. Examples travel by structured clone (exact for any value a user passes: Sets, Dates, NaN); rendered
// prompts, which are only strings, come back as one JSON text, cheaper to copy than thousands of small objects.
// Single calls stay on the main thread (compileSignature, ChatAdapter.format), where they are cheaper.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GenServer, isPid, WorkerPool, type Caller, type ChildSpec, type Dest, type Pid, DSPexError } from '@dspex/runtime';
import type { LMMessage } from '../primitives/lm.js';
import type { ValidationResult } from '../signatures/compiler.js';
import { ensureSignature, type Signature } from '../signatures/signature.js';

/** Options of the signature engine: threads, registered name, queue size. */
export interface SignatureEngineOptions {
  /** Worker threads (default 2). */
  threads?: number;
  /** Register the pool under this name (so a supervised engine can be found with SignatureEngine.attach). */
  name?: string;
  /** Tasks that may wait for a thread (piscina maxQueue; default 'auto'). */
  maxQueue?: number | 'auto';
}

/** What to validate in each example: the input fields, the output fields, or both (default). */
export type ValidationScope = 'inputs' | 'outputs' | 'all';

/** The result of validating one item of a batch on the signature engine. */
export type BatchValidation = ValidationResult;

/** One prompt to render on the signature engine: the signature, adapter kind, demos and inputs. */
export interface RenderRequest {
  demos?: readonly Readonly<Record<string, unknown>>[];
  inputs: Readonly<Record<string, unknown>>;
}

/** Which adapter's format the signature engine renders with. */
export type AdapterKind = 'chat' | 'json';

/** The messages sent to worker threads (see engine_worker.ts). */
export type EngineTask =
  | { op: 'validate'; signature: string; scope: ValidationScope; examples: readonly Readonly<Record<string, unknown>>[] }
  /** Demo lists shared by many requests are sent once (`demoSets`); each request names its set by index. */
  | { op: 'render'; signature: string; adapter: AdapterKind; demoSets: readonly (readonly Readonly<Record<string, unknown>>[])[]; requests: readonly { demos: number; inputs: Readonly<Record<string, unknown>> }[] };

/** The compiled worker in dist/, or in source trees a .mjs bootstrap that loads the TypeScript through tsx. */
export function engineWorkerFilename(): string {
  const compiled = fileURLToPath(new URL('./engine_worker.js', import.meta.url));
  return existsSync(compiled) ? compiled : fileURLToPath(new URL('./engine_worker.mjs', import.meta.url));
}

/** The engine's worker pool could not start (its worker file is missing, or a name is taken). */
export class SignatureEngineStartError extends DSPexError {
  readonly code = 'DSPEX_SIGNATURE_ENGINE_START';
  constructor(readonly reason: unknown) {
    super(`the signature engine's worker pool did not start: ${reason instanceof Error ? reason.message : JSON.stringify(reason) ?? String(reason)}`, { cause: reason });
  }
}

const serialized = new WeakMap<Signature, string>();

function wire(signature: Signature): string {
  let json = serialized.get(signature);
  if (json === undefined) serialized.set(signature, (json = JSON.stringify(signature.toJSON())));
  return json;
}

/** Replaces each request's demo list by an index into the distinct lists (compared by identity). */
function shareDemos(requests: readonly RenderRequest[]): Pick<Extract<EngineTask, { op: 'render' }>, 'demoSets' | 'requests'> {
  const index = new Map<readonly Readonly<Record<string, unknown>>[], number>();
  const demoSets: (readonly Readonly<Record<string, unknown>>[])[] = [];
  const shared = requests.map((request) => {
    const demos = request.demos ?? [];
    let at = index.get(demos);
    if (at === undefined) index.set(demos, (at = demoSets.push(demos) - 1));
    return { demos: at, inputs: request.inputs };
  });
  return { demoSets, requests: shared };
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** A worker-thread pool (piscina) for batch validation and prompt rendering off the main thread; `SignatureEngine.childSpec` places it in a tree. */
export class SignatureEngine {
  private constructor(
    private readonly caller: Caller,
    /** The pool process (pid or registered name). */
    readonly pool: Dest,
    private readonly threads: number,
  ) {}

  /** Starts an engine not linked to the caller. Rejects with the pool's start error. */
  static async start(caller: Caller, options: SignatureEngineOptions = {}): Promise<SignatureEngine> {
    const threads = options.threads ?? 2;
    const started = await WorkerPool.start(caller, poolOptions(options));
    if (!('ok' in started)) {
      const reason = 'error' in started ? started.error : 'ignored';
      throw new SignatureEngineStartError(reason);
    }
    return new SignatureEngine(caller, started.ok, threads);
  }

  /** A child spec that starts the engine's pool under a supervisor; find it again with attach(caller, name). */
  static childSpec(id: string, options: SignatureEngineOptions & { name: string }): ChildSpec {
    return WorkerPool.childSpec(id, poolOptions(options));
  }

  /** An engine handle for a pool started elsewhere (by childSpec), addressed by name or pid. */
  static attach(caller: Caller, pool: Dest, threads = 2): SignatureEngine {
    return new SignatureEngine(caller, pool, threads);
  }

  /** Validates every example's fields (lax pydantic coercion) on the worker threads; results in order. */
  async validateBatch(signature: Signature | string, examples: readonly Readonly<Record<string, unknown>>[], options: { scope?: ValidationScope; chunkSize?: number } = {}): Promise<BatchValidation[]> {
    const resolved = ensureSignature(signature);
    const json = wire(resolved);
    const size = options.chunkSize ?? this.chunkSize(examples.length);
    const parts = await Promise.all(
      chunks(examples, size).map((part) =>
        WorkerPool.run<BatchValidation[]>(this.caller, this.pool, { op: 'validate', signature: json, scope: options.scope ?? 'all', examples: part } satisfies EngineTask),
      ),
    );
    return parts.flat();
  }

  /** Renders the adapter's messages for each request (demos + inputs) on the worker threads; results in order. */
  async renderBatch(signature: Signature | string, requests: readonly RenderRequest[], options: { adapter?: AdapterKind; chunkSize?: number } = {}): Promise<LMMessage[][]> {
    const resolved = ensureSignature(signature);
    const json = wire(resolved);
    const size = options.chunkSize ?? this.chunkSize(requests.length);
    const parts = await Promise.all(
      chunks(requests, size).map((part) =>
        WorkerPool.run<string>(this.caller, this.pool, { op: 'render', signature: json, adapter: options.adapter ?? 'chat', ...shareDemos(part) } satisfies EngineTask),
      ),
    );
    return parts.flatMap((part) => JSON.parse(part) as LMMessage[][]);
  }

  /** The piscina pid, when the engine was started here (not attached by name). */
  get pid(): Pid | undefined {
    return isPid(this.pool) ? this.pool : undefined;
  }

  /** Stops the pool (its threads are destroyed before it exits). */
  stop(): Promise<void> {
    return GenServer.stop(this.caller, this.pool, 'normal');
  }

  /** About four chunks per thread: enough to balance, few enough that messaging stays cheap. */
  private chunkSize(count: number): number {
    return Math.max(64, Math.ceil(count / (this.threads * 4)));
  }
}

function poolOptions(options: SignatureEngineOptions): Parameters<typeof WorkerPool.start>[1] {
  const threads = options.threads ?? 2;
  return {
    filename: engineWorkerFilename(),
    minThreads: threads,
    maxThreads: threads,
    label: 'signature_engine',
    ...(options.name === undefined ? {} : { name: options.name }),
    ...(options.maxQueue === undefined ? {} : { maxQueue: options.maxQueue }),
  };
}
