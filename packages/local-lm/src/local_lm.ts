// LocalLM: the GenServer that owns the embedded model server's Port (DESIGN.md: Neural -> LocalLM). It
// starts server.ts in its own OS process, waits for the ready line, answers where the server listens, and
// exits when the server does, so its supervisor restarts both. The LM clients reach it over loopback HTTP:
// this package knows no LM client, it hands out the options of one (`clientOptions`) for dspex's `LM.start`.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Exit, GenServer, Port, runtimeOf, type Caller, type ChildSpec, type GenServerBehavior, type PortHandle, type ProcessContext, DSPexError } from '@dspex/runtime';
import { findLocalModel } from './model_path.js';

/** The model name of the embedded model's LM client. */
export const LOCAL_MODEL_ID = 'local/smollm2-135m-instruct';

/** Options of the embedded model server: name, model file, threads, context size, sequences, GPU, start timeout. */
export interface LocalLMOptions {
  /** Registered name of the server process (default 'LocalLM'); the LM client is named the same. */
  name?: string;
  /** The .gguf to serve (default: findLocalModel()). */
  modelPath?: string;
  /** CPU threads (default: cores - 1, at most 4: llama.cpp threads spin, so oversubscribing is very slow). */
  threads?: number;
  /** Tokens per sequence (default 4096). */
  contextSize?: number;
  /** Requests served at once (default 2). */
  sequences?: number;
  /** 'auto' (default) uses a GPU when node-llama-cpp finds one, CPU otherwise. */
  gpu?: 'auto' | false | 'cuda' | 'vulkan' | 'metal';
  /** How long loading may take before start fails (default 120000 ms). */
  startTimeoutMs?: number;
}

/** What `LocalLM.info(rt)` answers: the server's base URL, GPU backend (or false), model file, OS pid and load time. */
export interface LocalLMInfo {
  baseUrl: string;
  /** The GPU backend in use, or false on CPU. */
  gpu: string | false;
  modelPath: string;
  osPid: number;
  loadMs: number;
}

/** The server did not print its ready line: the model failed to load, or the process died. */
export class LocalLMStartError extends DSPexError {
  readonly code = 'DSPEX_LOCAL_LM_START';
  /**
   * `reason`: the server's own account (its `error` line, e.g. "Invalid GGUF magic"), when it gave one; the
   * message then carries it instead of the stderr tail, which stays in `stderrTail`.
   */
  constructor(detail: string, readonly stderrTail: string, readonly reason?: string) {
    const why = reason !== undefined ? `: ${reason.replace(/\.$/, '')}.` : `.${stderrTail ? ` Its stderr ends with: ${stderrTail}` : ''}`;
    super(`the local model server did not start: ${detail}${why} Check the model file (DSPEX_LOCAL_MODEL) and that node-llama-cpp installed its binaries.`);
  }
}

interface State {
  port: PortHandle;
  info: LocalLMInfo;
}

/** node + the server: compiled server.js next to this module, or server.ts through tsx in development. */
function serverCommand(): string[] {
  const here = dirname(fileURLToPath(import.meta.url));
  const js = join(here, 'server.js');
  if (existsSync(js)) return [js];
  const loader = createRequire(import.meta.url).resolve('tsx');
  return ['--import', pathToFileURL(loader).href, join(here, 'server.ts')];
}

function readyLine(port: PortHandle, timeoutMs: number): Promise<{ port: number; gpu: string | false; loadMs: number }> {
  const stderr: string[] = [];
  port.stderr.on('data', (chunk: Buffer) => {
    stderr.push(chunk.toString('utf8'));
    if (stderr.length > 40) stderr.shift();
  });
  const tail = (): string => stderr.join('').trim().slice(-800);
  /** The server's own account of why it could not start (its `error` line), when it gave one. */
  let reason: string | undefined;
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: port.stdout });
    const timer = setTimeout(() => reject(new LocalLMStartError(`no ready line within ${timeoutMs} ms`, tail())), timeoutMs);
    lines.on('line', (line) => {
      if (!line.startsWith('{')) return;
      try {
        const ready = JSON.parse(line) as { event?: unknown; port?: unknown; gpu?: unknown; loadMs?: unknown; message?: unknown };
        if (ready.event === 'error' && typeof ready.message === 'string') reason = ready.message;
        if (ready.event !== 'ready' || typeof ready.port !== 'number') return;
        clearTimeout(timer);
        lines.close();
        resolve({ port: ready.port, gpu: typeof ready.gpu === 'string' ? ready.gpu : false, loadMs: Number(ready.loadMs ?? 0) });
      } catch {
        // not the ready line
      }
    });
    void port.exited.then((exit) => {
      clearTimeout(timer);
      reject(new LocalLMStartError(`the server exited (code ${String(exit.code)}, signal ${String(exit.signal)})`, tail(), reason));
    });
  });
}

const behavior: GenServerBehavior<State, LocalLMOptions, 'info', LocalLMInfo> = {
  async init(options, self: ProcessContext) {
    const modelPath = options.modelPath ?? findLocalModel();
    const args = [...serverCommand(), '--model', modelPath, '--gpu', String(options.gpu ?? 'auto')];
    if (options.threads !== undefined) args.push('--threads', String(options.threads));
    if (options.contextSize !== undefined) args.push('--context-size', String(options.contextSize));
    if (options.sequences !== undefined) args.push('--sequences', String(options.sequences));
    const port = await Port.openLink(self, { command: process.execPath, args, label: `local_lm:${options.name ?? 'LocalLM'}`, killTimeoutMs: 2000 });
    let ready;
    try {
      ready = await readyLine(port, options.startTimeoutMs ?? 120_000);
    } catch (error) {
      self.runtime.exit(port.pid, 'kill', self.pid);
      return { stop: error };
    }
    const logger = self.runtime.logger.child({ localLm: options.name ?? 'LocalLM' });
    createInterface({ input: port.stdout }).on('line', (line) => logger.info(line));
    createInterface({ input: port.stderr }).on('line', (line) => logger.warn(line));
    const info: LocalLMInfo = { baseUrl: `http://127.0.0.1:${ready.port}/v1`, gpu: ready.gpu, modelPath, osPid: port.osPid, loadMs: ready.loadMs };
    logger.info(info, `local model server ready on ${info.baseUrl} (${info.gpu === false ? 'CPU' : info.gpu})`);
    return { ok: { port, info } };
  },

  handleCall(_request, _from, state) {
    return { reply: { ...state.info }, state };
  },

  handleInfo(message, state) {
    // The server process ended: so does this process, and the supervisor restarts the pair.
    if (message instanceof Exit && message.from === state.port.pid) return { stop: { localLmExited: message.reason }, state };
    return { noreply: true, state };
  },

  async terminate(reason, state, self) {
    if (state === undefined) return;
    self.runtime.exit(state.port.pid, reason ?? 'shutdown', self.pid);
    await state.port.exited;
  },
};

/** What `LocalLM.start` returns: the server's base URL and info, and `stop()`. */
export interface LocalLMStarted {
  baseUrl: string;
  info: LocalLMInfo;
  /** Stops the server (and waits for its process to be gone). */
  stop(): Promise<void>;
}

/**
 * The options of an LM client of the server, as dspex's `LM.start` (or `lmSupervisorSpec`) takes them: spread
 * them into those options (`LM.start(rt, { ...LocalLM.clientOptions(), cache: ... })`).
 */
export interface LocalLMClientOptions {
  name: string;
  model: string;
  /** Asked before each attempt: a restarted server listens on a new port. */
  apiBase: (caller: Caller) => Promise<string>;
  retries: number;
  breaker: false;
  timeoutMs: number;
  structuredOutputs: 'grammar';
}

/** The embedded model server (SmolLM2 on node-llama-cpp in its own OS process, OpenAI-compatible on 127.0.0.1): `start`, `childSpec`, `clientOptions`, and `info` (where it listens, its OS pid, GPU). */
export const LocalLM = {
  /**
   * Starts the model server (a client of it: `LM.start(caller, LocalLM.clientOptions(name))` of dspex). Rejects
   * with LocalModelNotFound when there is no model, LocalLMStartError when the server fails to load it.
   */
  async start(caller: Caller, options: LocalLMOptions = {}): Promise<LocalLMStarted> {
    const name = options.name ?? 'LocalLM';
    if (options.modelPath === undefined) options = { ...options, modelPath: findLocalModel() };
    const started = await GenServer.start(caller, behavior, options, { name, trapExit: true, label: name });
    if (!('ok' in started)) throw 'error' in started && started.error instanceof Error ? started.error : new LocalLMStartError(JSON.stringify(started), '');
    const info = await LocalLM.info(caller, name);
    return { baseUrl: info.baseUrl, info, stop: () => GenServer.stop(caller, name, 'shutdown') };
  },

  /** The server as a child of the Neural supervisor (trapping exits, so a shutdown stops its OS process first). */
  childSpec(options: LocalLMOptions = {}, spec: Omit<ChildSpec, 'id' | 'start'> = {}): ChildSpec {
    const name = options.name ?? 'LocalLM';
    return { shutdown: 10_000, ...spec, id: name, start: (parent) => GenServer.startLink(parent, behavior, options, { name, trapExit: true, label: name }) };
  },

  /** LM options for a client of the server named `name`, for dspex's LM.start or the LM supervisor's children. */
  clientOptions(name = 'LocalLM'): LocalLMClientOptions {
    // The base URL is asked before each attempt: a restarted server listens on a new port. The server compiles
    // any JSON Schema to a grammar (engine.ts), so JSONAdapter may constrain even open mappings (ReAct's args).
    return {
      name,
      model: LOCAL_MODEL_ID,
      apiBase: async (caller) => (await LocalLM.info(caller, name)).baseUrl,
      retries: 2,
      breaker: false,
      timeoutMs: 300_000,
      structuredOutputs: 'grammar',
    };
  },

  info(caller: Caller, name = 'LocalLM'): Promise<LocalLMInfo> {
    return GenServer.call<LocalLMInfo>(runtimeOf(caller), name, 'info');
  },
};
