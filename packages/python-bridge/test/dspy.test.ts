// Real DSPy 3.4 in real workers: Predict and ChainOfThought answered by DSPy's DummyLM, one dspy.LM call to
// an OpenAI-compatible server on loopback, a program saved in one worker and loaded in another, and Evaluate.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useBridge } from './helpers.js';

const bridge = useBridge();

interface Created {
  handle: string;
  class: string;
}

describe('DSPy modules', () => {
  it('runs dspy.Predict and dspy.ChainOfThought answered by DummyLM', async () => {
    const pool = await bridge.pool({ name: 'modules', size: 1 });
    const session = pool.session('modules');
    expect(await session.call('configure_lm', { dummy: [{ answer: 'blue' }, { reasoning: 'Two and two make four.', answer: '4' }] })).toEqual({
      model: 'dummy',
      scope: 'session',
      session: 'modules',
    });
    const predict = await session.call<Created>('create', { class: 'dspy.Predict', args: ['question -> answer'] });
    expect(predict.class).toBe('dspy.Predict');
    expect(await session.call('call', { handle: predict.handle, kwargs: { question: 'What colour is the sky?' } })).toEqual({ answer: 'blue' });
    const cot = await session.call<Created>('create', { class: 'dspy.ChainOfThought', args: ['question -> answer: int'] });
    expect(await session.call('call', { handle: cot.handle, kwargs: { question: 'What is 2 + 2?' } })).toEqual({ reasoning: 'Two and two make four.', answer: 4 });
  });

  it('calls an OpenAI-compatible server through dspy.LM', async () => {
    const requests: { url: string | undefined; auth: string | undefined; body: { model: string; messages: unknown[] } }[] = [];
    const server = createServer((request: IncomingMessage, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { model: string; messages: unknown[] };
        requests.push({ url: request.url, auth: request.headers.authorization, body });
        const completion = {
          id: 'chatcmpl-test',
          object: 'chat.completion',
          created: 1_700_000_000,
          model: body.model,
          choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: '[[ ## answer ## ]]\nParis\n\n[[ ## completed ## ]]' } }],
          usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 },
        };
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(completion));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const pool = await bridge.pool({
        name: 'http-lm',
        size: 1,
        python: { env: { NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost', LITELLM_LOCAL_MODEL_COST_MAP: 'True' } },
      });
      const session = pool.session('http');
      await session.call('configure_lm', { model: 'openai/test-model', api_base: `http://127.0.0.1:${port}/v1`, api_key: 'sk-test', cache: false, num_retries: 0 });
      const { handle } = await session.call<Created>('create', { class: 'dspy.Predict', args: ['question -> answer'] });
      expect(await session.call('call', { handle, kwargs: { question: 'What is the capital of France?' } })).toEqual({ answer: 'Paris' });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(requests).toHaveLength(1);
    const [request] = requests;
    expect(request!.url).toBe('/v1/chat/completions');
    expect(request!.auth).toBe('Bearer sk-test');
    expect(request!.body.model).toBe('test-model');
    expect(JSON.stringify(request!.body.messages)).toContain('What is the capital of France?');
  });
});

describe('saving and evaluating', () => {
  it('saves a program in one worker and loads it in another, from its state and from its file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dspex-save-'));
    // Files are only written under the pool's save directory; without one, only state maps travel.
    const pool = await bridge.pool({ name: 'save-load', size: 2, python: { saveDir: dir } });
    const saver = pool.session('saver');
    const loader = pool.session('loader');
    const demos = [{ question: 'What is 2 + 2?', reasoning: 'Add them.', answer: '4' }];
    try {
      const path = join(dir, 'program.json');
      const { handle } = await saver.call<Created>('create', { class: 'dspy.ChainOfThought', args: ['question -> answer'] });
      expect(await saver.call('set_attr', { handle, name: 'predict.demos', value: demos })).toBe(true);
      const state = await saver.call<{ predict: { demos: unknown[] }; metadata: { dependency_versions: Record<string, string> } }>('save', { handle, path });
      expect(state.predict.demos).toEqual(demos);
      expect(state.metadata.dependency_versions.dspy).toBe('3.4.1');
      expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(state);

      const [saverPid, loaderPid] = await Promise.all([saver.call<{ pid: number }>('info'), loader.call<{ pid: number }>('info')]);
      expect(loaderPid.pid).not.toBe(saverPid.pid);
      for (const source of [{ state }, { path }]) {
        const loaded = await loader.call<Created>('load', { class: 'dspy.ChainOfThought', args: ['question -> answer'], ...source });
        expect(await loader.call('get_attr', { handle: loaded.handle, name: 'predict.demos' })).toEqual(demos);
        expect((await loader.call<typeof state>('save', { handle: loaded.handle })).predict).toEqual(state.predict);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs dspy.Evaluate on a small devset, with a builtin metric and with a TypeScript metric', async () => {
    const pool = await bridge.pool({ name: 'evaluate', size: 1 });
    const session = pool.session('eval');
    const devset = [
      { question: 'What is 2 + 2?', answer: '4' },
      { question: 'What is the capital of France?', answer: 'Paris' },
      { question: 'What colour is the sky?', answer: 'blue' },
    ];
    await session.call('configure_lm', { dummy: [{ answer: '4' }, { answer: 'Lyon' }, { answer: 'Blue' }, { answer: '4' }, { answer: 'Paris' }, { answer: 'red' }] });
    const { handle } = await session.call<Created>('create', { class: 'dspy.Predict', args: ['question -> answer'] });

    type Outcome = { score: number; results: { example: Record<string, string>; prediction: Record<string, string>; score: unknown }[] };
    const builtin = await session.call<Outcome>('evaluate', { handle, devset, input_keys: ['question'], metric: 'exact_match' });
    expect(builtin.score).toBeCloseTo(66.67, 2);
    expect(builtin.results.map((r) => r.score)).toEqual([true, false, true]);
    expect(builtin.results[1]).toEqual({ example: devset[1], prediction: { answer: 'Lyon' }, score: false });

    const judged: string[] = [];
    session.registerTool('judge', (args) => {
      const { example, prediction } = args as { example: { answer: string }; prediction: { answer: string } };
      judged.push(prediction.answer);
      return example.answer === prediction.answer ? 1 : 0.25;
    });
    const custom = await session.call<Outcome>('evaluate', { handle, devset, input_keys: ['question'], metric: { callback: 'judge' } });
    expect(judged).toEqual(['4', 'Paris', 'red']);
    expect(custom.results.map((r) => r.score)).toEqual([1, 1, 0.25]);
    expect(custom.score).toBeCloseTo(75, 2);
  });
});
