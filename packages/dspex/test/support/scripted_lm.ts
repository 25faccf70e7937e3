// A scripted LM for tests (DSPy's DummyLM): answers from a list, a map keyed by text in the last message, or a
// function of the messages, each formatted as the adapter expects a reply (ChatAdapter sections or a JSON
// object). It records every request, so a test can compare the exact prompts a module sent.

import type { LM, LMConfig, LMMessage, LMRequest, LMResponse } from '../../src/primitives/lm.js';
import { pyJsonDumps, pyStr } from '../../src/utils/py_json.js';

/** A reply: output field values (formatted per `format`), or the raw completion text. */
export type ScriptedAnswer = Record<string, unknown> | string;
export type AnswerFunction = (messages: readonly LMMessage[], request: LMRequest) => ScriptedAnswer;

export interface ScriptedLMOptions {
  /** How field values are written: ChatAdapter sections (default) or JSONAdapter's JSON object. */
  format?: 'chat' | 'json';
  model?: string;
  defaults?: LMConfig;
}

export class ScriptExhaustedError extends Error {
  readonly code = 'DSPEX_TEST_SCRIPT_EXHAUSTED';
  constructor(calls: number) {
    super(`ScriptedLM ran out of answers after ${calls} completions; the module called the LM more often than the test expected.`);
    this.name = 'ScriptExhaustedError';
  }
}

/** DSPy's format_field_value for an untyped output: text as is, lists and records as JSON, the rest str(). */
function formatValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object') return pyJsonDumps(value);
  return pyStr(value);
}

/** DummyLM's reply text: ChatAdapter's format_field_with_value, or JSONAdapter's with role="assistant". */
export function formatAnswer(answer: ScriptedAnswer, format: 'chat' | 'json'): string {
  if (typeof answer === 'string') return answer;
  if (format === 'json') return pyJsonDumps(answer, 2);
  return Object.entries(answer).map(([name, value]) => `[[ ## ${name} ## ]]\n${formatValue(value)}`).join('\n\n').trim();
}

export class ScriptedLM implements LM {
  readonly model: string;
  readonly defaults: LMConfig;
  /** Every request with the completions returned for it, in call order. */
  readonly history: Array<{ request: LMRequest; outputs: string[] }> = [];
  private readonly format: 'chat' | 'json';
  private readonly next: (messages: readonly LMMessage[], request: LMRequest) => ScriptedAnswer;
  private served = 0;

  constructor(answers: ScriptedAnswer[] | Record<string, ScriptedAnswer> | AnswerFunction, options: ScriptedLMOptions = {}) {
    this.model = options.model ?? 'dummy';
    this.defaults = options.defaults ?? { temperature: 0, max_tokens: 1000 };
    this.format = options.format ?? 'chat';
    if (typeof answers === 'function') {
      this.next = answers;
    } else if (Array.isArray(answers)) {
      const queue = [...answers];
      this.next = () => {
        const answer = queue.shift();
        if (answer === undefined) throw new ScriptExhaustedError(this.served);
        return answer;
      };
    } else {
      this.next = (messages) => {
        const last = messages[messages.length - 1]?.content ?? '';
        const hit = Object.entries(answers).find(([key]) => last.includes(key));
        return hit ? hit[1] : { answer: 'No more responses' };
      };
    }
  }

  async call(request: LMRequest): Promise<LMResponse> {
    const count = request.config?.n ?? 1;
    const outputs: string[] = [];
    for (let i = 0; i < count; i++) {
      outputs.push(formatAnswer(this.next(request.messages, request), this.format));
      this.served++;
    }
    this.history.push({ request, outputs });
    return {
      outputs: outputs.map((text) => ({ text, finishReason: 'stop' })),
      usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 },
      model: this.model,
      cached: false,
    };
  }

  /** The messages of the i-th request (negative counts from the end). */
  messages(index = -1): LMMessage[] {
    const entry = this.history.at(index);
    if (!entry) throw new RangeError(`ScriptedLM has ${this.history.length} requests; there is no request ${index}`);
    return entry.request.messages;
  }
}
