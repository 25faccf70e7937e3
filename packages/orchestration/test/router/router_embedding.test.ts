// The Router inside a service: its Python side uses the native LM client's configuration by default (model,
// endpoint, key), following the embedded model's port when it moves; `idempotent` passes through the router and
// the call options, so a Python-only call whose worker died is retried only when the caller says it may be.

import { SessionWorkerLost } from '@dspex/python-bridge';
import type { Runtime } from '@dspex/runtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LM, Predict, Prediction, type Program } from 'dspex';
import { Router, type RouteEvent } from '../../src/index.js';
import { ScriptedServer, openaiReply } from '../../../dspex/test/clients/helpers.js';
import { quietRuntime, startReadyPool } from '../../../dspex/test/evaluate_helpers.js';
import { dspyUnavailable, servicesRequired } from '../../../dspex/test/support/dspy_reference.js';

const unavailable = dspyUnavailable();
if (unavailable !== null && servicesRequired()) throw new Error(unavailable);
const withPython = unavailable === null ? describe : describe.skip;

let rt: Runtime;
let servers: ScriptedServer[];
beforeEach(async () => {
  rt = quietRuntime();
  servers = [await ScriptedServer.start(), await ScriptedServer.start()];
  for (const server of servers) server.fallback = openaiReply('[[ ## answer ## ]]\nParis\n\n[[ ## completed ## ]]');
});
afterEach(async () => {
  await rt.shutdown(10_000);
  for (const server of servers) await server.close();
});

/** A Python side that loses its worker on the first `failures` calls. */
function flakyPython(failures: number): Program & { calls: number } {
  return {
    calls: 0,
    async call() {
      if (this.calls++ < failures) throw new SessionWorkerLost('s1', 'general-0');
      return new Prediction({ answer: 'Paris' });
    },
  };
}

describe('idempotent through the router', () => {
  it('retries a Python-only call whose worker died only when the call or the module is idempotent', async () => {
    const router = new Router();
    const events: RouteEvent[] = [];
    router.telemetry.on('route', (e) => events.push(e));

    const plain = router.module({ name: 'plain', python: flakyPython(1) });
    expect(plain.idempotent).toBe(false);
    await expect(plain.call({ question: 'q' })).rejects.toBeInstanceOf(SessionWorkerLost);

    const perCall = router.module({ name: 'per-call', python: flakyPython(1) });
    expect((await perCall.call({ question: 'q' }, { idempotent: true })).get('answer')).toBe('Paris');
    expect(events.filter((e) => e.module === 'per-call').map((e) => [e.reason, e.ok])).toEqual([
      ['only_python', false],
      ['retry', true],
    ]);

    const marked = router.module({ name: 'marked', python: flakyPython(2), idempotent: true });
    expect(marked.idempotent).toBe(true);
    // Retried once, not forever; the call option overrides the module.
    await expect(marked.call({ question: 'q' })).rejects.toBeInstanceOf(SessionWorkerLost);
    await expect(router.module({ python: flakyPython(1), idempotent: true }).call({ question: 'q' }, { idempotent: false })).rejects.toBeInstanceOf(SessionWorkerLost);
    expect(new Router({ idempotent: true }).module({ python: flakyPython(0) }).idempotent).toBe(true);
  });
});

describe('the Python side uses the native LM configuration', () => {
  it('reads model, endpoint and key from the client; once when fixed, before each call when it can change', async () => {
    await LM.start(rt, { name: 'hosted', model: 'anthropic/claude-3-5-haiku-latest', apiKey: 'sk-ant-fixed-1234', defaults: { temperature: 0.3, max_tokens: 64 } });
    const fixed = new Router({ runtime: rt, lmClient: 'hosted' });
    const first = await fixed.pythonLm();
    expect(first?.spec).toEqual({ model: 'anthropic/claude-3-5-haiku-latest', api_key: 'sk-ant-fixed-1234', temperature: 0.3, max_tokens: 64 });
    expect(await fixed.pythonLm()).toBe(first);

    let at = 0;
    await LM.start(rt, { name: 'moving', model: 'local/smollm2', apiBase: () => `${servers[at]!.url}/v1/` });
    const moving = new Router({ runtime: rt, lmClient: 'moving' });
    expect((await moving.pythonLm())?.spec).toEqual({ model: 'openai/smollm2', api_base: `${servers[0]!.url}/v1`, api_key: 'local' });
    at = 1;
    expect((await moving.pythonLm())?.spec).toMatchObject({ api_base: `${servers[1]!.url}/v1` });

    expect(await new Router({ runtime: rt, lmClient: 'hosted', pythonLm: false }).pythonLm()).toBeUndefined();
    expect((await new Router({ runtime: rt, lmClient: 'hosted', pythonLm: { dummy: [] } }).pythonLm())?.spec).toEqual({ dummy: [] });
  });
});

withPython('the Python side follows the native LM', () => {
  it('sends DSPy in Python to the native client endpoint, and to its new port after it moved', { timeout: 60_000 }, async () => {
    let at = 0;
    await LM.start(rt, { name: 'main', model: 'local/smollm2', apiBase: () => servers[at]!.url, cache: { memory: false } });
    const pool = await startReadyPool(rt, { name: 'router-lm', size: 1 });
    const router = new Router({ pool, runtime: rt, lmClient: 'main', prefer: 'python' });
    const qa = router.module(new Predict('question -> answer'));
    expect((await qa.call({ question: 'Capital of France?' })).get('answer')).toBe('Paris');
    expect(servers[0]!.requests.at(-1)?.url).toBe('/v1/chat/completions');

    at = 1; // the server moved (as LocalLM does when it restarts on a new port)
    expect((await qa.call({ question: 'Capital of Italy?' })).get('answer')).toBe('Paris');
    expect(servers[1]!.requests.map((r) => r.url)).toEqual(['/v1/chat/completions']);
    router.close();
  });
});
