// The model side of the embedded LM server (runs in the server's own OS process, never in the runtime):
// node-llama-cpp loads the GGUF, a pool of context sequences serves requests one per sequence, and a
// JSON-schema grammar constrains decoding when a request asks for structured output.

import { availableParallelism } from 'node:os';
import { getLlama, LlamaChat, type ChatHistoryItem, type Llama, type LlamaContext, type LlamaGrammar, type LlamaModel } from 'node-llama-cpp';

export interface EngineOptions {
  modelPath: string;
  /** CPU threads (default: cores - 1, at most 4; see defaultThreads). */
  threads?: number;
  /** Tokens per sequence (default 4096). */
  contextSize?: number;
  /** Concurrent requests the context holds (default 2); more wait for a free sequence. */
  sequences?: number;
  gpu?: 'auto' | false | 'cuda' | 'vulkan' | 'metal';
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  toolCallId?: string;
}

export interface GenerateOptions {
  maxTokens: number;
  temperature: number;
  topP?: number;
  seed?: number;
  stop: string[];
  /** A JSON schema the output must match, or 'json' for any JSON value. */
  json?: Record<string, unknown> | 'json';
  signal?: AbortSignal;
  onText?: (text: string) => void;
}

export interface Generation {
  text: string;
  finishReason: 'stop' | 'length';
  promptTokens: number;
  completionTokens: number;
}

/** A request the engine refuses (a schema its grammar compiler cannot take): HTTP 400, not a crash. */
export class BadRequest extends Error {
  readonly code = 'DSPEX_LOCAL_LM_BAD_REQUEST';
}

/**
 * llama.cpp's threads spin on barriers, so more threads than idle cores is catastrophic: on this 2-core
 * machine under load, 2 threads decode 20x slower than 1. Leave a core to the runtime; a 135M model gains
 * little past 4.
 */
export function defaultThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

export class Engine {
  private readonly free: LlamaChat[] = [];
  private readonly waiting: ((chat: LlamaChat) => void)[] = [];
  private readonly grammars = new Map<string, Promise<LlamaGrammar>>();

  private constructor(
    readonly llama: Llama,
    readonly model: LlamaModel,
    readonly context: LlamaContext,
  ) {
    for (let i = 0; i < context.totalSequences; i++) this.free.push(new LlamaChat({ contextSequence: context.getSequence() }));
  }

  static async load(options: EngineOptions): Promise<Engine> {
    const llama = await getLlama({ gpu: options.gpu ?? 'auto', build: 'never', progressLogs: false });
    const model = await llama.loadModel({ modelPath: options.modelPath });
    const context = await model.createContext({
      contextSize: options.contextSize ?? 4096,
      sequences: options.sequences ?? 2,
      threads: options.threads ?? defaultThreads(),
    });
    return new Engine(llama, model, context);
  }

  get gpu(): string | false {
    return this.llama.gpu;
  }

  /** Waits for a free sequence: each sequence runs one generation at a time, so requests never interleave on one. */
  private acquire(): Promise<LlamaChat> {
    const chat = this.free.pop();
    if (chat !== undefined) return Promise.resolve(chat);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(chat: LlamaChat): void {
    const next = this.waiting.shift();
    if (next !== undefined) next(chat);
    else this.free.push(chat);
  }

  private grammar(json: Record<string, unknown> | 'json'): Promise<LlamaGrammar> {
    const key = json === 'json' ? 'json' : JSON.stringify(json);
    let grammar = this.grammars.get(key);
    if (grammar === undefined) {
      grammar = (async () => {
        try {
          if (json === 'json') return await this.llama.getGrammarFor('json');
          // node-llama-cpp types its schema subset precisely; an arbitrary schema is checked when compiled.
          return await this.llama.createGrammarForJsonSchema(json as never);
        } catch (error) {
          this.grammars.delete(key);
          throw new BadRequest(`response_format schema is not supported by the grammar compiler: ${(error as Error).message}`);
        }
      })();
      this.grammars.set(key, grammar);
    }
    return grammar;
  }

  /** The chat history in node-llama-cpp's terms; tool results become user turns (SmolLM2 has no tool role). */
  private history(messages: readonly ChatMessage[]): ChatHistoryItem[] {
    const history: ChatHistoryItem[] = messages.map((m): ChatHistoryItem => {
      if (m.role === 'system') return { type: 'system', text: m.content };
      if (m.role === 'assistant') return { type: 'model', response: [m.content] };
      if (m.role === 'tool') return { type: 'user', text: `Tool result${m.toolCallId ? ` (${m.toolCallId})` : ''}:\n${m.content}` };
      return { type: 'user', text: m.content };
    });
    // A trailing assistant message is a prefix to continue; otherwise the model starts a new turn.
    if (history.at(-1)?.type !== 'model') history.push({ type: 'model', response: [] });
    return history;
  }

  async generate(messages: readonly ChatMessage[], options: GenerateOptions): Promise<Generation> {
    const grammar = options.json === undefined ? undefined : await this.grammar(options.json);
    const chat = await this.acquire();
    try {
      const history = this.history(messages);
      const prompt = chat.chatWrapper.generateContextState({ chatHistory: history }).contextText.tokenize(this.model.tokenizer).length;
      let completionTokens = 0;
      const result = await chat.generateResponse(history, {
        maxTokens: options.maxTokens,
        temperature: options.temperature,
        ...(options.topP === undefined ? {} : { topP: options.topP }),
        ...(options.seed === undefined ? {} : { seed: options.seed }),
        ...(options.stop.length > 0 ? { customStopTriggers: options.stop } : {}),
        ...(grammar === undefined ? {} : { grammar }),
        ...(options.signal === undefined ? {} : { signal: options.signal, stopOnAbortSignal: true }),
        onToken: (tokens) => (completionTokens += tokens.length),
        ...(options.onText === undefined ? {} : { onTextChunk: options.onText }),
      });
      return {
        text: result.response,
        finishReason: result.metadata.stopReason === 'maxTokens' ? 'length' : 'stop',
        promptTokens: prompt,
        completionTokens,
      };
    } finally {
      this.release(chat);
    }
  }

  async dispose(): Promise<void> {
    await this.llama.dispose();
  }
}
