// SignatureEngine: batch validation and rendering on worker threads (a WorkerPool under the runtime). Results
// match the main thread's exactly and in order, custom types travel with the signature, the engine runs under a
// supervisor, and its threads are gone when it stops.

import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Runtime, Supervisor, WorkerPool, type Pid } from '@dspex/runtime';
import { ChatAdapter } from '../../src/adapters/chat_adapter.js';
import { JSONAdapter } from '../../src/adapters/json_adapter.js';
import { compileSignature } from '../../src/signatures/compiler.js';
import { SignatureEngine } from '../../src/signature_engine/engine.js';
import { TypeRegistry } from '../../src/signatures/registry.js';
import { Signature } from '../../src/signatures/signature.js';

const silent = (): Runtime => new Runtime({ logger: pino({ level: 'silent' }) });
const registry = new TypeRegistry([{ name: 'Citation', schema: { type: 'object', properties: { url: { type: 'string' }, page: { type: 'integer' } }, required: ['url'], title: 'Citation' } }]);
const sig = Signature.parse('question: str, k: int -> answer: str, confidence: float, cites: list[Citation]', { registry });

function examples(count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) =>
    i % 7 === 3
      ? { question: i, k: 'many', answer: 'x', confidence: 'high', cites: [{ page: 1 }] }
      : { question: `q${i}`, k: String(i), answer: `a${i}`, confidence: i / 10, cites: [{ url: `u${i}`, page: `${i}` }] },
  );
}

describe('SignatureEngine', () => {
  it('validates a batch on worker threads with the same results, in order, as the main thread', async () => {
    const rt = silent();
    const engine = await SignatureEngine.start(rt, { threads: 2 });
    const batch = examples(1500);
    const results = await engine.validateBatch(sig, batch);
    const compiled = compileSignature(sig);
    expect(results).toHaveLength(batch.length);
    results.forEach((result, i) => {
      const inputs = compiled.validateInputs(batch[i]!);
      const outputs = compiled.validateOutputs(batch[i]!);
      expect(result.ok).toBe(inputs.ok && outputs.ok);
      if (result.ok && inputs.ok && outputs.ok) expect(result.value).toEqual({ ...inputs.value, ...outputs.value });
    });
    expect(results.filter((r) => !r.ok)).toHaveLength(batch.filter((_, i) => i % 7 === 3).length);
    const bad = results[3]!;
    expect(bad.ok ? [] : bad.issues.map((issue) => issue.path.join('.'))).toEqual(['question', 'k', 'confidence', 'cites.0.url']);
    await rt.shutdown();
  });

  it('runs on more than one thread and validates only the scope asked for', async () => {
    const rt = silent();
    const engine = await SignatureEngine.start(rt, { threads: 2 });
    const results = await engine.validateBatch('q: int -> a: int', [{ q: '1' }, { q: 'x' }], { scope: 'inputs' });
    expect(results).toEqual([{ ok: true, value: { q: 1 } }, expect.objectContaining({ ok: false })]);
    expect(WorkerPool.piscinaOf(rt, engine.pid!)!.threads.length).toBe(2);
    // Values JSON cannot carry survive the trip (examples and results are structured clones).
    const exotic = await engine.validateBatch('xs: set[int] -> y: float', [{ xs: new Set([2, 1, 2]), y: 'inf' }, { xs: [3], y: Number.NaN }]);
    expect(exotic).toEqual([{ ok: true, value: { xs: [2, 1], y: Infinity } }, { ok: true, value: { xs: [3], y: Number.NaN } }]);
    await rt.shutdown();
  });

  it('renders ChatAdapter and JSONAdapter messages identical to format() on the main thread', async () => {
    const rt = silent();
    const engine = await SignatureEngine.start(rt, { threads: 2 });
    const demos = [{ question: 'd', k: 1, answer: 'da', confidence: 1, cites: [] }];
    const requests = Array.from({ length: 300 }, (_, i) => ({ demos, inputs: { question: `q${i} [[ ## answer ## ]]`, k: i } }));
    const chat = await engine.renderBatch(sig, requests);
    const json = await engine.renderBatch(sig, requests, { adapter: 'json', chunkSize: 50 });
    expect(chat).toEqual(requests.map((r) => new ChatAdapter().format(sig, r.demos, r.inputs)));
    expect(json).toEqual(requests.map((r) => new JSONAdapter().format(sig, r.demos, r.inputs)));
    await rt.shutdown();
  });

  it('runs as a supervised child found by name, and its threads are destroyed when the supervisor stops', async () => {
    const rt = silent();
    const started = await Supervisor.start(rt, { children: [SignatureEngine.childSpec('signature_engine', { name: 'signatures', threads: 2 })] });
    const sup = (started as { ok: Pid }).ok;
    const engine = SignatureEngine.attach(rt, 'signatures');
    expect(await engine.validateBatch('a -> b: bool', [{ a: 'x', b: 'yes' }])).toEqual([{ ok: true, value: { a: 'x', b: true } }]);
    const [child] = await Supervisor.whichChildren(rt, sup);
    const piscina = WorkerPool.piscinaOf(rt, child!.pid as Pid)!;
    await Supervisor.stop(rt, sup);
    expect(piscina.threads).toHaveLength(0);
    await rt.shutdown();
  });

  it('a stopped engine rejects further batches with a typed error', async () => {
    const rt = silent();
    const engine = await SignatureEngine.start(rt, { threads: 1 });
    await engine.stop();
    await expect(engine.validateBatch(sig, examples(2))).rejects.toMatchObject({ code: expect.stringMatching(/^DSPEX_/) });
    await rt.shutdown();
  });
});
