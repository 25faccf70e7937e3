// The response cache: keys computed as DSPy's cache_key computes them (checked against a vector produced by
// dspy.clients.cache.Cache.cache_key), memory hits, disk hits that survive a new client, keys that ignore
// the API key and base URL, and cache: false.

import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Runtime } from '@dspex/runtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LM, cacheKey, sortedJson, type LMStartOptions } from '../../src/clients/index.js';
import { LruCache } from '../../src/clients/cache.js';
import { ScriptedServer, nextEvent, openaiReply, quietRuntime, telemetryBus } from './helpers.js';

let rt: Runtime;
let server: ScriptedServer;
let dir: string;
const ask = { messages: [{ role: 'user' as const, content: 'What is OTP?' }], config: { temperature: 0 } };

beforeEach(async () => {
  rt = quietRuntime();
  server = await ScriptedServer.start();
  server.fallback = openaiReply('a framework', { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 });
  dir = await mkdtemp(join(tmpdir(), 'dspex-cache-test-'));
});
afterEach(async () => {
  await rt.shutdown();
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

function options(extra: Partial<LMStartOptions> = {}): LMStartOptions {
  return { name: 'c', model: 'openai/gpt-4o-mini', apiBase: server.url, retries: 0, ...extra };
}

describe('cache key', () => {
  it("matches DSPy's cache_key (sha256 of orjson OPT_SORT_KEYS without api_key/api_base) on the same request", () => {
    // Produced by: Cache(False, False, None).cache_key(request, ['api_key', 'api_base', 'base_url']) in DSPy 3.4.1.
    const request = {
      _fn_identifier: 'dspex.clients.openai.complete',
      model: 'openai/gpt-4o-mini',
      messages: [{ role: 'user', content: 'héllo ☃' }],
      temperature: 0.7,
      max_tokens: 100,
      stop: ['\n\n'],
      response_format: { name: 'answer', schema: { type: 'object', properties: { b: { type: 'string' }, a: { type: 'integer' } } } },
      api_key: 'sk-should-not-matter',
      api_base: 'http://x',
    };
    expect(cacheKey(request)).toBe('874f82a1a13513ec17628b5e754c15e13302edda963f82187526fc16ba1c5d3a');
  });

  it('sorts keys at every depth and drops undefined members', () => {
    expect(sortedJson({ b: 1, a: { d: [{ z: 1, y: undefined, x: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[{"x":2,"z":1}]},"b":1}');
  });

  it('the LRU drops the least recently used entry', () => {
    const lru = new LruCache<number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    lru.get('a');
    lru.set('c', 3);
    expect([lru.get('a'), lru.get('b'), lru.get('c')]).toEqual([1, undefined, 3]);
  });
});

describe('response cache', () => {
  it('memory: the same request is answered from the cache, marked cached, with zero usage', async () => {
    const telemetry = telemetryBus();
    const lm = await LM.start(rt, options({ telemetry }));
    const first = await lm.call(ask);
    const hit = nextEvent(telemetry, 'lm_cache_hit');
    const second = await lm.call(ask);
    expect((await hit).tier).toBe('memory');
    expect(server.requests).toHaveLength(1);
    expect(first.cached).toBe(false);
    expect(second).toEqual({ ...first, cached: true, usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 } });
    expect(await lm.usage()).toMatchObject({ calls: 2, cacheHits: 1, requests: 1 });
    // A different setting is a different key.
    await lm.call({ ...ask, config: { temperature: 0.5 } });
    expect(server.requests).toHaveLength(2);
  });

  it('memory: mutating a returned response does not change what the cache returns', async () => {
    const lm = await LM.start(rt, options());
    const first = await lm.call(ask);
    first.outputs[0]!.text = 'mutated';
    expect((await lm.call(ask)).outputs[0]!.text).toBe('a framework');
  });

  it('disk: a new client with the same directory, another API key and base URL hits the files', async () => {
    process.env.DSPEX_TEST_KEY_A = 'sk-aaaaaaaaaaaaaaaaaaaa';
    process.env.DSPEX_TEST_KEY_B = 'sk-bbbbbbbbbbbbbbbbbbbb';
    const first = await LM.start(rt, options({ name: 'disk-a', apiKeyEnv: 'DSPEX_TEST_KEY_A', cache: { memory: false, disk: dir } }));
    await first.call(ask);
    await first.stop();
    const shards = await readdir(dir);
    expect(shards).toHaveLength(1);
    expect(await readdir(join(dir, shards[0]!))).toEqual([expect.stringMatching(/^[0-9a-f]{64}\.json$/)]);

    const telemetry = telemetryBus();
    const second = await LM.start(rt, options({ name: 'disk-b', apiBase: `${server.url}/`, apiKeyEnv: 'DSPEX_TEST_KEY_B', cache: { memory: true, disk: dir }, telemetry }));
    const hit = nextEvent(telemetry, 'lm_cache_hit');
    const response = await second.call(ask);
    expect((await hit).tier).toBe('disk');
    expect(response).toMatchObject({ cached: true, outputs: [{ text: 'a framework' }] });
    expect(server.requests).toHaveLength(1);
    delete process.env.DSPEX_TEST_KEY_A;
    delete process.env.DSPEX_TEST_KEY_B;
  });

  it('disk: a corrupt entry is a miss (reported on telemetry), replaced by a fresh response', async () => {
    const telemetry = telemetryBus();
    const lm = await LM.start(rt, options({ cache: { memory: false, disk: dir }, telemetry }));
    await lm.call(ask);
    const shard = (await readdir(dir))[0]!;
    const file = join(dir, shard, (await readdir(join(dir, shard)))[0]!);
    await writeFile(file, '{not json');
    const reported = nextEvent(telemetry, 'lm_cache_error');
    await expect(lm.call(ask)).resolves.toMatchObject({ cached: false });
    await reported;
    expect(server.requests).toHaveLength(2);
    await expect(lm.call(ask)).resolves.toMatchObject({ cached: true });
  });

  it('cache: false on a call, or memory off without disk, always asks the provider', async () => {
    const lm = await LM.start(rt, options());
    await lm.call(ask);
    await lm.call({ ...ask, config: { ...ask.config, cache: false } });
    const uncached = await LM.start(rt, options({ name: 'nocache', cache: { memory: false } }));
    await uncached.call(ask);
    await uncached.call(ask);
    expect(server.requests).toHaveLength(4);
  });
});
