// toDspyLmUsage against real DSPy 3.4.1 (usage_reference.py): the same OpenAI replies go to dspy.LM under
// track_usage and to our LM under trackUsage, and prediction.get_lm_usage() must equal our export byte for byte
// (zero usage, no usage, details with and without the keys DSPy keeps, several calls summed across models).
// The merge rules (None + int, nested records, flags) are checked on DSPy's UsageTracker directly.

import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Runtime } from '@dspex/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LM, type LMHandle } from '../../src/clients/index.js';
import { Predict } from '../../src/predict/predict.js';
import { Module } from '../../src/program/module.js';
import { Prediction } from '../../src/primitives/prediction.js';
import { configure, resetSettings } from '../../src/program/settings.js';
import { UsageTracker, toDspyLmUsage, type LMUsage } from '../../src/usage/tracker.js';
import { PYTHON, dspyUnavailable, servicesRequired } from '../support/dspy_reference.js';
import { ScriptedServer, quietRuntime } from '../clients/helpers.js';

const here = dirname(fileURLToPath(import.meta.url));

type Usage = Record<string, unknown> | null;
interface Call {
  model: string;
  usage: Usage;
}

const MINI = 'openai/gpt-4o-mini';
const BIG = 'openai/gpt-4.1';
const counts = (prompt: number, completion: number, extra: Record<string, unknown> = {}) => ({ prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion, ...extra });
const details = (prompt: Usage, completion: Usage) => ({ prompt_tokens_details: prompt, completion_tokens_details: completion });

/** One top-level call each: its LM calls in order (model, the usage the reply carries; null: none). */
const CALL_CASES: Record<string, Call[]> = {
  'plain counts': [{ model: MINI, usage: counts(10, 5) }],
  'explicit zero usage': [{ model: MINI, usage: counts(0, 0) }],
  'no usage in the body': [{ model: MINI, usage: null }],
  'null details': [{ model: MINI, usage: counts(10, 5, details(null, null)) }],
  'empty details': [{ model: MINI, usage: counts(10, 5, details({}, {})) }],
  'cached tokens only': [{ model: MINI, usage: counts(120, 30, { prompt_tokens_details: { cached_tokens: 100 } }) }],
  'reasoning tokens only': [{ model: MINI, usage: counts(12, 40, { completion_tokens_details: { reasoning_tokens: 32 } }) }],
  'full OpenAI details, provider order': [
    { model: MINI, usage: counts(10, 5, details({ audio_tokens: 0, cached_tokens: 4 }, { accepted_prediction_tokens: 0, audio_tokens: 0, reasoning_tokens: 2, rejected_prediction_tokens: 0 })) },
  ],
  'only details DSPy drops': [{ model: MINI, usage: counts(10, 5, details({ text_tokens: 10 }, { accepted_prediction_tokens: 1 })) }],
  'cache writes (cache_write_tokens)': [{ model: MINI, usage: counts(10, 5, details({ cached_tokens: 2, cache_write_tokens: 3 }, null)) }],
  'extra top-level keys': [{ model: MINI, usage: counts(10, 5, { cost: 0.5, is_byok: false }) }],
  'no total_tokens': [{ model: MINI, usage: { prompt_tokens: 7, completion_tokens: 3 } }],
  'zero then counts': [
    { model: MINI, usage: counts(0, 0) },
    { model: MINI, usage: counts(3, 4, details({ cached_tokens: 1 }, null)) },
  ],
  'none then details then none': [
    { model: MINI, usage: counts(1, 1) },
    { model: MINI, usage: counts(2, 2, details({ audio_tokens: 5 }, { reasoning_tokens: 1 })) },
    { model: MINI, usage: counts(3, 3) },
  ],
  'details in different orders summed': [
    { model: MINI, usage: counts(10, 1, details({ audio_tokens: 1 }, null)) },
    { model: MINI, usage: counts(10, 1, details({ cached_tokens: 2, audio_tokens: 3 }, { audio_tokens: 1, reasoning_tokens: 4 })) },
  ],
  'several calls across models': [
    { model: MINI, usage: counts(10, 5, details({ cached_tokens: 2 }, { reasoning_tokens: 1 })) },
    { model: BIG, usage: counts(100, 50) },
    { model: MINI, usage: null },
    { model: BIG, usage: counts(0, 0) },
    { model: MINI, usage: counts(1, 1, details({ cached_tokens: 1 }, null)) },
  ],
  'one model without usage, one with zeros': [
    { model: BIG, usage: null },
    { model: MINI, usage: counts(0, 0) },
  ],
};

/** Usage records given to the tracker directly (snake_case, as DSPy holds them): the merge rules alone. */
const MERGE_CASES: Record<string, Array<{ model: string; usage: Record<string, unknown> }>> = {
  'None + int and int + None': [
    { model: MINI, usage: { prompt_tokens: null, completion_tokens: 3, total_tokens: 3 } },
    { model: MINI, usage: { prompt_tokens: 4, completion_tokens: null, total_tokens: 4 } },
  ],
  'None details then a record then None': [
    { model: MINI, usage: { prompt_tokens: 1, prompt_tokens_details: null } },
    { model: MINI, usage: { prompt_tokens: 1, prompt_tokens_details: { cached_tokens: 1, audio_tokens: null } } },
    { model: MINI, usage: { prompt_tokens: 1, prompt_tokens_details: null } },
  ],
  'nested records summed key by key, new keys last': [
    { model: MINI, usage: { d: { b: 1, a: null } } },
    { model: MINI, usage: { d: { a: 2, c: { x: 1 } } } },
    { model: MINI, usage: { d: { c: { x: 2, y: 1 }, b: 5 } } },
  ],
  'flags and strings keep the first value': [
    { model: MINI, usage: { is_byok: true, tier: 'a', total_tokens: 1 } },
    { model: MINI, usage: { is_byok: false, tier: 'b', total_tokens: 2 } },
  ],
  'empty entries are skipped': [
    { model: MINI, usage: {} },
    { model: BIG, usage: { total_tokens: 0 } },
  ],
  'floats add': [
    { model: MINI, usage: { cost: 0.1 } },
    { model: MINI, usage: { cost: 0.2 } },
  ],
};

function reference(action: 'calls' | 'merge', cases: unknown[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = execFile(PYTHON, [join(here, 'usage_reference.py')], { env: { ...process.env, PYTHONIOENCODING: 'utf-8' } }, (error, stdout, stderr) => {
      if (error) reject(new Error(`usage_reference.py failed (${error.message}):\n${stderr}`));
      else resolve((JSON.parse(stdout) as { answers: string[] }).answers);
    });
    child.stdin!.end(JSON.stringify({ action, cases }));
  });
}

const unavailable = dspyUnavailable();
if (unavailable !== null && servicesRequired()) throw new Error(unavailable);

describe.skipIf(unavailable !== null)('usage as real DSPy tracks it', () => {
  let rt: Runtime;
  let server: ScriptedServer;
  const lms = new Map<string, LMHandle>();
  let dspyCalls: string[];
  let dspyMerges: string[];

  beforeAll(async () => {
    [dspyCalls, dspyMerges] = await Promise.all([reference('calls', Object.values(CALL_CASES)), reference('merge', Object.values(MERGE_CASES))]);
    rt = quietRuntime();
    server = await ScriptedServer.start();
    for (const model of [MINI, BIG]) lms.set(model, await LM.start(rt, { name: model, model, apiBase: `${server.url}/v1`, apiKey: 'k', cache: { memory: false }, retries: 0 }));
    configure({ trackUsage: true });
  }, 60_000);
  afterAll(async () => {
    resetSettings();
    await rt?.shutdown();
    await server?.close();
  });

  /** Our top-level call over the same replies, as usage_reference.py's Calls module makes them. */
  async function ours(calls: Call[]): Promise<string> {
    const reply = '[[ ## answer ## ]]\nx\n\n[[ ## completed ## ]]';
    server.script(...calls.map(({ usage }) => ({ json: { id: 'chatcmpl-1', object: 'chat.completion', model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: reply }, finish_reason: 'stop' }], ...(usage === null ? {} : { usage }) } })));
    class Calls extends Module {
      predict = new Predict('question -> answer');
      async forward({ question }: Record<string, unknown>) {
        for (const { model } of calls) await this.predict.call({ question: String(question) }, { lm: lms.get(model)! });
        return new Prediction({ answer: 'x' });
      }
    }
    const prediction = await new Calls().call({ question: 'q' });
    return JSON.stringify(toDspyLmUsage(prediction.lmUsage!));
  }

  it.each(Object.keys(CALL_CASES).map((name, i) => [name, i] as const))('%s: get_lm_usage() byte for byte', async (name, i) => {
    expect(await ours(CALL_CASES[name]!)).toBe(dspyCalls[i]);
  });

  it.each(Object.keys(MERGE_CASES).map((name, i) => [name, i] as const))('merge rules, %s: get_total_tokens() byte for byte', (name, i) => {
    const tracker = new UsageTracker();
    for (const { model, usage } of MERGE_CASES[name]!) tracker.add(model, usage as unknown as LMUsage);
    expect(JSON.stringify(tracker.totals())).toBe(dspyMerges[i]);
  });

  it('zero usage is tracked and shown; a reply without usage is not (native shape)', async () => {
    server.script({ json: { choices: [{ index: 0, message: { role: 'assistant', content: '[[ ## answer ## ]]\nx\n\n[[ ## completed ## ]]' }, finish_reason: 'stop' }] } });
    const missing = await new Predict('question -> answer').call({ question: 'q' }, { lm: lms.get(MINI)! });
    expect(missing.lmUsage).toEqual({});
    server.script({ json: { choices: [{ index: 0, message: { role: 'assistant', content: '[[ ## answer ## ]]\nx\n\n[[ ## completed ## ]]' }, finish_reason: 'stop' }], usage: counts(0, 0) } });
    const zero = await new Predict('question -> answer').call({ question: 'q' }, { lm: lms.get(MINI)! });
    expect(zero.lmUsage).toEqual({ [MINI]: { promptTokens: 0, completionTokens: 0, totalTokens: 0 } });
  });
});
