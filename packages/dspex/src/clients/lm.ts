// The public face of the LM clients: LM.start / LM.childSpec / LM.connect give an object implementing the
// LM contract (base_lm.ts) whose calls go to the LMClient GenServer by its registered name, so a client
// restarted by the `LM` supervisor keeps serving the same handle. lmSupervisorSpec builds that supervisor.

import { GenServer, Supervisor, runtimeOf, type Caller, type ChildSpec, type Pid } from '@dspex/runtime';
import type { LM as LMContract, LMConfig, LMRequest, LMResponse, LMStreamChunk, StructuredOutputs } from '../primitives/lm.js';
import { ChunkChannel } from './channel.js';
import type { BreakerState } from './circuit_breaker.js';
import { lmClientBehavior, type ClientArgs, type ClientCall, type ClientReply, type LMDescription, type LMUsageTotals } from './lm_client.js';
import { normalizeOptions, serverName, type LMOptions } from './options.js';
import { lmTelemetry, type LMTelemetry } from './telemetry.js';
import { parentOfCall } from '../tracing/parent.js';
import { HistoryBuffer, type HistoryEntry } from '../history/history.js';
import { printHistory, type InspectHistoryOptions } from '../history/inspect_history.js';
import { callSite, recordLMCall } from '../program/lm_record.js';

/** An LM bound to one LMClient process: the LM contract, plus usage, breaker state and stop. */
export interface LMHandle extends LMContract {
  readonly name: string;
  /** The registered name of the client process (`LMClient:<name>`). */
  readonly serverName: string;
  stream(request: LMRequest): AsyncIterable<LMStreamChunk>;
  usage(): Promise<LMUsageTotals>;
  /** This handle's calls, oldest first, at most settings.maxHistorySize (DSPy's lm.history); a new array each read. */
  readonly history: HistoryEntry[];
  /** Prints this LM's last n calls as dspy's lm.inspect_history(n) does, and returns the text. */
  inspectHistory(n?: number, options?: InspectHistoryOptions): string;
  breakerState(): Promise<BreakerState>;
  /** Stops the client process (not for a supervised client: stop its supervisor instead). */
  stop(): Promise<void>;
}

/** Options of `LM.start`: the client's options plus its registered `name` and supervision settings. */
export interface LMStartOptions extends LMOptions {
  /** Where events go (default: the shared lmTelemetry bus). */
  telemetry?: LMTelemetry;
}

function unwrap<T>(reply: ClientReply<T>): T {
  if ('error' in reply) throw reply.error;
  return reply.ok;
}

class Handle implements LMHandle {
  readonly serverName: string;
  private readonly ownHistory = new HistoryBuffer();
  constructor(
    private readonly caller: Caller,
    readonly name: string,
    readonly model: string,
    readonly defaults: LMConfig,
    readonly structuredOutputs: StructuredOutputs,
  ) {
    this.serverName = serverName(name);
  }

  private ask<R>(request: ClientCall, timeoutMs = Infinity): Promise<R> {
    // No call timeout: each attempt has its own (timeoutMs) and the caller's AbortSignal ends a call early.
    return GenServer.call<R>(this.caller, this.serverName, request, timeoutMs);
  }

  async call(request: LMRequest): Promise<LMResponse> {
    // Read before the first await, while the caller's context (its usage tracker) is still current.
    const site = callSite(request);
    const response = unwrap(await this.ask<ClientReply<LMResponse>>({ op: 'complete', request, parent: parentOfCall() }));
    recordLMCall(site, this.model, this.ownHistory, request, response);
    return response;
  }

  get history(): HistoryEntry[] {
    return this.ownHistory.entries();
  }

  inspectHistory(n = 1, options: InspectHistoryOptions = {}): string {
    return printHistory(this.ownHistory.entries(), n, options);
  }

  async *stream(request: LMRequest): AsyncIterable<LMStreamChunk> {
    const channel = new ChunkChannel();
    // A consumer that stops iterating early aborts the request instead of leaving it to run to the end.
    const stop = new AbortController();
    const signal = request.signal === undefined ? stop.signal : AbortSignal.any([request.signal, stop.signal]);
    let settled = false;
    const site = callSite(request);
    const finished = this.ask<ClientReply<LMResponse>>({ op: 'stream', request: { ...request, signal }, sink: channel, parent: parentOfCall() }).then(
      (reply) => {
        if ('error' in reply) {
          channel.fail(reply.error);
          return undefined;
        }
        const response = reply.ok;
        recordLMCall(site, this.model, this.ownHistory, request, response);
        response.outputs.forEach((_o, index) => channel.push({ delta: '', index, done: true, response }));
        channel.end();
        return response;
      },
      (error: unknown) => {
        channel.fail(error);
        return undefined;
      },
    );
    try {
      yield* channel;
      await finished;
      settled = true;
    } finally {
      if (!settled) stop.abort();
    }
  }

  usage(): Promise<LMUsageTotals> {
    return this.ask({ op: 'usage' }, 5000);
  }

  breakerState(): Promise<BreakerState> {
    return this.ask({ op: 'breaker' }, 5000);
  }

  stop(): Promise<void> {
    return GenServer.stop(this.caller, this.serverName, 'normal');
  }
}

function clientArgs(options: LMStartOptions): ClientArgs {
  return { config: normalizeOptions(options), telemetry: options.telemetry ?? lmTelemetry };
}

export const LM = {
  /**
   * Starts a client process (not linked) and returns its handle. Rejects with LMConfigError or LMAuthError
   * (no key in the environment) before anything starts, or with the start error of the process.
   */
  async start(caller: Caller, options: LMStartOptions): Promise<LMHandle> {
    const args = clientArgs(options);
    const { config } = args;
    const started = await GenServer.start(caller, lmClientBehavior, args, { name: serverName(config.name), label: serverName(config.name) });
    if (!('ok' in started)) throw 'error' in started && started.error instanceof Error ? started.error : new Error(`LMClient ${config.name} did not start: ${JSON.stringify(started)}`);
    return new Handle(caller, config.name, config.model, config.defaults, config.structuredOutputs);
  },

  /** A child spec for the `LM` supervisor: the client registered as `LMClient:<name>`. Bad options throw here. */
  childSpec(options: LMStartOptions, spec: Omit<ChildSpec, 'id' | 'start'> = {}): ChildSpec {
    const args = clientArgs(options);
    const name = serverName(args.config.name);
    return { shutdown: 5000, ...spec, id: name, start: (parent) => GenServer.startLink(parent, lmClientBehavior, args, { name, label: name }) };
  },

  /** The handle of a client started elsewhere (a supervisor's child), by its name. NoProcError if none runs. */
  async connect(caller: Caller, name: string): Promise<LMHandle> {
    const description = await GenServer.call<LMDescription>(caller, serverName(name), { op: 'describe' } satisfies ClientCall);
    return new Handle(caller, description.name, description.model, description.defaults, description.structuredOutputs);
  },

  /** The pid of a running client, if any. */
  whereis(caller: Caller, name: string): Pid | undefined {
    return runtimeOf(caller).whereis(serverName(name));
  },
};

/** A type with the contract's name, so `import { LM } from 'dspex'` gives both the value and the interface. */
export type LM = LMContract;

/** The `LM` supervisor of DESIGN.md's tree (one_for_one) with one LMClient per options entry. */
export function lmSupervisorSpec(clients: LMStartOptions[], spec: { id?: string; intensity?: number; period?: number } = {}): ChildSpec {
  return Supervisor.childSpec(spec.id ?? 'LM', {
    strategy: 'one_for_one',
    intensity: spec.intensity ?? 5,
    period: spec.period ?? 10,
    children: clients.map((options) => LM.childSpec(options)),
  });
}
