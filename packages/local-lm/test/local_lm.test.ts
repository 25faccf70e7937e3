// The embedded default LM with the real SmolLM2-135M-Instruct GGUF: a completion, JSON-schema-constrained
// decoding, streaming, concurrent requests, the tokens/s measurement, and a crash of the server process
// contained by its supervisor. Without the .gguf: fail under CI / DSPEX_REQUIRE_SERVICES, skip otherwise.

import { statSync } from 'node:fs';
import { Runtime, Supervisor } from '@dspex/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LM, type LMHandle, type LMStreamChunk } from 'dspex';
import { pino } from 'pino';
import { LocalLM, findLocalModel, measureTokensPerSecond, type LocalLMStarted } from '../src/index.js';

const quietRuntime = (): Runtime => new Runtime({ logger: pino({ level: 'silent' }) });

const required = Boolean(process.env.CI) || Boolean(process.env.DSPEX_REQUIRE_SERVICES);
let modelPath: string | undefined;
let missing = '';
try {
  modelPath = findLocalModel();
} catch (error) {
  missing = (error as Error).message;
}
if (modelPath === undefined && !required) console.warn(`SKIPPED the real-model LocalLM tests: ${missing}`);

describe('the SmolLM2 GGUF', () => {
  // Runs wherever the model is installed (and fails where CI / DSPEX_REQUIRE_SERVICES require it and it is not).
  it.skipIf(modelPath === undefined && !required)('is installed and found as a .gguf file', () => {
    if (modelPath === undefined) throw new Error(`the real-model tests need the model: ${missing}`);
    expect(modelPath).toMatch(/\.gguf$/);
    expect(statSync(modelPath).size).toBeGreaterThan(50_000_000);
  });
});

const ask = (content: string, max_tokens = 24) => ({ messages: [{ role: 'user' as const, content }], config: { max_tokens, cache: false } });

describe.skipIf(modelPath === undefined)(`LocalLM on the real model${modelPath === undefined ? ` (skipped: ${missing})` : ''}`, () => {
  let rt: Runtime;
  let local: LocalLMStarted & { lm: LMHandle };

  beforeAll(async () => {
    rt = quietRuntime();
    const server = await LocalLM.start(rt, { modelPath: modelPath!, contextSize: 1024 });
    local = { ...server, lm: await LM.start(rt, LocalLM.clientOptions()) };
  }, 120_000);
  afterAll(async () => {
    await local?.lm.stop();
    await local?.stop();
    await rt?.shutdown();
  });

  it('serves an OpenAI-compatible endpoint on loopback and answers a real completion', async () => {
    expect(local.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const response = await local.lm.call({ ...ask('What is the capital of France?'), config: { max_tokens: 24, temperature: 0, cache: false } });
    const output = response.outputs[0]!;
    expect(output.text).toMatch(/Paris/);
    expect(['stop', 'length']).toContain(output.finishReason);
    expect(response.usage.promptTokens).toBeGreaterThan(5);
    expect(response.usage.completionTokens).toBeGreaterThan(0);
    expect(response.usage.completionTokens).toBeLessThanOrEqual(24);
    expect(response.model).toBe('local/smollm2-135m-instruct');
  }, 60_000);

  it('decodes under a JSON-schema grammar: the output parses and matches the schema', async () => {
    const schema = {
      type: 'object',
      properties: { answer: { type: 'string', enum: ['yes', 'no'] }, sure: { type: 'boolean' } },
      required: ['answer', 'sure'],
      additionalProperties: false,
    };
    const response = await local.lm.call({ ...ask('Is Paris in France? Reply in JSON.', 40), responseFormat: { name: 'verdict', schema } });
    const value = JSON.parse(response.outputs[0]!.text) as Record<string, unknown>;
    expect(Object.keys(value).sort()).toEqual(['answer', 'sure']);
    expect(['yes', 'no']).toContain(value.answer);
    expect(typeof value.sure).toBe('boolean');
  }, 60_000);

  it('honours stop sequences and n (generated one after another)', async () => {
    const response = await local.lm.call({ messages: [{ role: 'user', content: 'Count from 1 to 10, separated by commas.' }], config: { max_tokens: 32, n: 2, stop: ['5'], cache: false } });
    expect(response.outputs).toHaveLength(2);
    for (const output of response.outputs) {
      expect(output.text).not.toContain('5');
      expect(output.text.length).toBeGreaterThan(0);
    }
  }, 60_000);

  it('streams deltas that add up to the final text', async () => {
    const chunks: LMStreamChunk[] = [];
    for await (const chunk of local.lm.stream(ask('Name three colors.'))) chunks.push(chunk);
    const final = chunks.at(-1)!;
    expect(final.done).toBe(true);
    expect(chunks.filter((c) => !c.done).length).toBeGreaterThan(1);
    expect(chunks.map((c) => c.delta).join('')).toBe(final.response!.outputs[0]!.text);
    expect(final.response!.usage.completionTokens).toBeGreaterThan(0);
  }, 60_000);

  it('serves concurrent requests from its pool of sequences without mixing them up', async () => {
    const [france, japan, third] = await Promise.all([
      local.lm.call(ask('What is the capital of France?')),
      local.lm.call(ask('What is the capital of Japan?')),
      local.lm.call(ask('Say hello.', 8)),
    ]);
    expect(france.outputs[0]!.text).toMatch(/Paris/);
    expect(japan.outputs[0]!.text).toMatch(/Tokyo/);
    expect(third.usage.completionTokens).toBeLessThanOrEqual(8);
  }, 60_000);

  it('measureTokensPerSecond reports completion tokens over wall time', async () => {
    const result = await measureTokensPerSecond(local.lm, 'Write a sentence about the sea.', 32);
    expect(result.completionTokens).toBeGreaterThan(0);
    expect(result.completionTokens).toBeLessThanOrEqual(32);
    expect(result.tokensPerSecond).toBeCloseTo((result.completionTokens * 1000) / result.wallMs, 6);
    console.info(`local_lm_tokens_per_s: ${result.tokensPerSecond.toFixed(1)} (${result.completionTokens} tokens in ${result.wallMs.toFixed(0)} ms)`);
  }, 60_000);
});

describe.skipIf(modelPath === undefined)('LocalLM under a Neural supervisor', () => {
  it('a killed server process is contained: the supervisor restarts it and clients reach the new one', async () => {
    const rt = quietRuntime();
    try {
      const started = await Supervisor.start(rt, {
        strategy: 'one_for_one',
        children: [Supervisor.childSpec('Neural', { strategy: 'one_for_one', children: [LocalLM.childSpec({ name: 'LocalLM', modelPath: modelPath!, contextSize: 512 })] })],
      });
      expect('ok' in started).toBe(true);
      const lm = await LM.start(rt, { ...LocalLM.clientOptions('LocalLM'), cache: { memory: false } });
      const before = await LocalLM.info(rt, 'LocalLM');
      await expect(lm.call(ask('Say hi.', 4))).resolves.toMatchObject({ cached: false });

      const restarted = new Promise<void>((resolve) => rt.telemetry.on('restart', (e) => e.childId === 'LocalLM' && resolve()));
      process.kill(before.osPid, 'SIGKILL');
      await restarted;
      const after = await LocalLM.info(rt, 'LocalLM');
      expect(after.osPid).not.toBe(before.osPid);
      expect(() => process.kill(before.osPid, 0)).toThrow(); // the old process is gone
      // The client asks for the base URL before each attempt, so it follows the server to its new port.
      const response = await lm.call(ask('Say hi.', 4));
      expect(response.usage.completionTokens).toBeGreaterThan(0);
    } finally {
      await rt.shutdown();
    }
  }, 120_000);
});
