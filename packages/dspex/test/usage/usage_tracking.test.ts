// prediction.lmUsage against a loopback OpenAI-compatible server that reports usage: summed per model over
// every LM call of a top-level call (ChainOfThought, a hand-written program awaiting between sub-calls, ReAct),
// nested details summed, nothing for cache hits, nothing on nested predictions (DSPy's track_usage).

import type { Runtime } from '@dspex/runtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LM, type LMHandle } from '../../src/clients/index.js';
import { ChainOfThought } from '../../src/predict/chain_of_thought.js';
import { Predict } from '../../src/predict/predict.js';
import { ReAct } from '../../src/predict/react.js';
import { Module, type CallOptions } from '../../src/program/module.js';
import { Prediction } from '../../src/primitives/prediction.js';
import { configure, resetSettings, withSettings } from '../../src/program/settings.js';
import { toDspyLmUsage } from '../../src/usage/tracker.js';
import { ScriptedServer, openaiReply, quietRuntime, telemetryBus } from '../clients/helpers.js';

let rt: Runtime;
let server: ScriptedServer;

beforeEach(async () => {
  rt = quietRuntime();
  server = await ScriptedServer.start();
  configure({ trackUsage: true });
});
afterEach(async () => {
  resetSettings();
  await rt.shutdown();
  await server.close();
});

function start(name: string, model: string, memory = false): Promise<LMHandle> {
  return LM.start(rt, { name, model, apiBase: `${server.url}/v1`, cache: { memory }, retries: 0, telemetry: telemetryBus() });
}

const usage = (prompt: number, completion: number, cached = 0, reasoning = 0) => ({
  prompt_tokens: prompt,
  completion_tokens: completion,
  total_tokens: prompt + completion,
  prompt_tokens_details: { cached_tokens: cached, audio_tokens: 0 },
  completion_tokens_details: { reasoning_tokens: reasoning },
});

const chat = (fields: Record<string, string>): string => `${Object.entries(fields).map(([k, v]) => `[[ ## ${k} ## ]]\n${v}`).join('\n\n')}\n\n[[ ## completed ## ]]`;

describe('prediction.lmUsage', () => {
  it('ChainOfThought: one call, tokens by kind with nested details', async () => {
    const lm = await start('a', 'openai/gpt-4o-mini');
    server.script(openaiReply(chat({ reasoning: 'r', answer: 'Paris' }), usage(120, 30, 100, 7)));
    const prediction = await new ChainOfThought('question -> answer').call({ question: 'Capital of France?' }, { lm });
    expect(prediction.lmUsage).toEqual({
      'openai/gpt-4o-mini': { promptTokens: 120, completionTokens: 30, totalTokens: 150, promptTokensDetails: { cachedTokens: 100, audioTokens: 0 }, completionTokensDetails: { reasoningTokens: 7 } },
    });
    // DSPy's get_lm_usage() keys, for comparing with a Python run.
    expect(toDspyLmUsage(prediction.lmUsage!)).toEqual({
      'openai/gpt-4o-mini': { prompt_tokens: 120, completion_tokens: 30, total_tokens: 150, prompt_tokens_details: { cached_tokens: 100, audio_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 7 } },
    });
    expect(JSON.stringify(toDspyLmUsage(prediction.lmUsage!))).toBe(
      '{"openai/gpt-4o-mini":{"prompt_tokens":120,"completion_tokens":30,"total_tokens":150,"prompt_tokens_details":{"cached_tokens":100,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":7}}}',
    );
  });

  it('a hand-written program: every call after an await counts, per model, and nested predictions get none', async () => {
    const small = await start('small', 'openai/gpt-4o-mini');
    const big = await start('big', 'openai/gpt-4.1');
    class TwoHop extends Module<{ question: string }, { answer: string }> {
      draft = new ChainOfThought('question -> answer');
      refine = new Predict('question, draft -> answer');
      check = new Predict('question, draft -> answer');
      nested: Prediction[] = [];
      async forward({ question }: { question: string }) {
        const draft = await this.draft.call({ question }, { lm: small });
        // Not passing options on, after an await: the settings scope keeps the tracker.
        await Promise.resolve();
        const [refined, checked] = await Promise.all([this.refine.call({ question, draft: String(draft.answer) }, { lm: big }), this.check.call({ question, draft: String(draft.answer) }, { lm: small })]);
        this.nested.push(draft, refined, checked);
        return new Prediction({ answer: refined.answer }) as Prediction<{ answer: string }>;
      }
    }
    server.script(
      openaiReply(chat({ reasoning: 'r', answer: 'a1' }), usage(10, 5, 2)),
      openaiReply(chat({ answer: 'a2' }), usage(100, 50)),
      openaiReply(chat({ answer: 'a3' }), usage(1, 1, 1, 1)),
    );
    const program = new TwoHop();
    const prediction = await program.call({ question: 'q' });
    // Which of the parallel calls got which reply depends on arrival order: sum both orders' possibilities by model.
    const byModel = prediction.lmUsage!;
    expect(Object.keys(byModel).sort()).toEqual(['openai/gpt-4.1', 'openai/gpt-4o-mini']);
    const total = Object.values(byModel).reduce((sum, u) => sum + u.totalTokens, 0);
    expect(total).toBe(15 + 150 + 2);
    expect(byModel['openai/gpt-4o-mini']!.promptTokensDetails!['cachedTokens']! + byModel['openai/gpt-4.1']!.promptTokensDetails!['cachedTokens']!).toBe(3);
    for (const nested of program.nested) expect(nested.lmUsage).toBeNull();
  });

  it('ReAct: every step and the extraction, summed', async () => {
    const lm = await start('a', 'openai/gpt-4o-mini');
    const add = ({ a, b }: { a: number; b: number }) => a + b;
    server.script(
      openaiReply(chat({ next_thought: 'add them', next_tool_name: 'add', next_tool_args: '{"a": 1, "b": 2}' }), usage(200, 20)),
      openaiReply(chat({ next_thought: 'done', next_tool_name: 'finish', next_tool_args: '{}' }), usage(300, 10)),
      openaiReply(chat({ reasoning: 'r', answer: '3' }), usage(400, 5, 128)),
    );
    const react = new ReAct('question -> answer', [add]);
    const prediction = await react.call({ question: '1 + 2?' }, { lm });
    expect(prediction.answer).toBe('3');
    expect(server.requests).toHaveLength(3);
    expect(prediction.lmUsage).toEqual({
      'openai/gpt-4o-mini': { promptTokens: 900, completionTokens: 35, totalTokens: 935, promptTokensDetails: { cachedTokens: 128, audioTokens: 0 }, completionTokensDetails: { reasoningTokens: 0 } },
    });
  });

  it('a cache hit adds nothing (DSPy reports no usage for it)', async () => {
    const lm = await start('cached', 'openai/gpt-4o-mini', true);
    server.script(openaiReply(chat({ answer: 'x' }), usage(10, 2)));
    const first = await new Predict('question -> answer').call({ question: 'same' }, { lm });
    const second = await new Predict('question -> answer').call({ question: 'same' }, { lm });
    expect(server.requests).toHaveLength(1);
    expect(first.lmUsage!['openai/gpt-4o-mini']).toMatchObject({ promptTokens: 10, completionTokens: 2, totalTokens: 12 });
    expect(second.lmUsage).toEqual({});
  });

  it('is off unless configured, as in DSPy', async () => {
    resetSettings();
    const lm = await start('a', 'openai/gpt-4o-mini');
    server.script(openaiReply(chat({ answer: 'x' }), usage(10, 2)));
    const prediction = await new Predict('question -> answer').call({ question: 'q' }, { lm });
    expect(prediction.lmUsage).toBeNull();
    expect(prediction.lmCost).toBeNull();
  });

  it('holds inside a withSettings scope and in a program that passes its options on', async () => {
    const lm = await start('a', 'openai/gpt-4o-mini');
    class Passing extends Module {
      static override readonly passesCallOptions = true;
      first = new Predict('question -> answer');
      second = new Predict('question -> answer');
      async forward(inputs: Record<string, unknown>, options?: CallOptions) {
        await this.first.call(inputs, options);
        return this.second.call(inputs, options);
      }
    }
    server.script(openaiReply(chat({ answer: 'x' }), usage(1, 1)), openaiReply(chat({ answer: 'y' }), usage(2, 2)), openaiReply(chat({ answer: 'x' }), usage(3, 3)), openaiReply(chat({ answer: 'y' }), usage(4, 4)));
    const bare = await new Passing().call({ question: 'q' }, { lm });
    const scoped = await withSettings({}, () => new Passing().call({ question: 'q' }, { lm }));
    expect(bare.lmUsage!['openai/gpt-4o-mini']!.totalTokens).toBe(6);
    expect(scoped.lmUsage!['openai/gpt-4o-mini']!.totalTokens).toBe(14);
  });
});
