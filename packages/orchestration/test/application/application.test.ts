// The DSPex application tree: it starts the children DESIGN.md names, its parts answer (a Python pool, the
// embedded model through the `local` LM client), a crash inside it is contained, and stopping it leaves no
// process behind, Python and model server included.

import { Runtime, Supervisor, type Pid } from '@dspex/runtime';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DSPex, type DSPexApp } from '../../src/index.js';
import { localModelMissing } from '../../../local-lm/test/local_model.js';
import { servicesRequired } from '../../../dspex/test/support/dspy_reference.js';

const missing = localModelMissing();
if (missing !== null && !servicesRequired()) console.warn(`skipping the embedded-model part of the application test: ${missing}`);

function osAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

let rt: Runtime | undefined;
let app: DSPexApp | undefined;
afterEach(async () => {
  await app?.stop().catch(() => undefined);
  await rt?.shutdown();
  app = undefined;
  rt = undefined;
});

describe('DSPex.start', () => {
  it('starts the tree, serves from a pool, contains a crash, and stops without leaving a process', async () => {
    rt = new Runtime({ logger: pino({ level: 'silent' }) });
    app = await DSPex.start(rt, { localModel: false, pools: { general: { size: 1 }, optimizer: false, neural: false }, signatureEngine: { threads: 1 } });
    const tree = await app.tree();
    for (const name of ['DSPex.Application', 'Registry', 'LM', 'Pools', 'pool:general', 'Neural', 'SignatureEngine']) expect(tree).toContain(name);
    expect(app.lmNames).toEqual([]);
    await expect(app.lm()).rejects.toThrow(/no LM is configured/);

    const pool = app.pools.general!;
    const info = await pool.call<{ pid: number }>('info');
    expect(osAlive(info.pid)).toBe(true);

    // Killing the Registry is contained by the application supervisor (one_for_one): the pool keeps serving.
    const children = await Supervisor.whichChildren(rt, app.supervisor);
    const registry = children.find((c) => c.id === 'Registry')!.pid as Pid;
    const restarted = new Promise((resolve) => rt!.telemetry.once('restart', resolve));
    rt.exit(registry, 'kill'); // a Registry traps exits (as Elixir's does): only kill ends it from outside
    await restarted;
    expect((await Supervisor.whichChildren(rt, app.supervisor)).find((c) => c.id === 'Registry')!.pid).not.toBe(registry);
    expect(await pool.call('ping', { still: 'serving' })).toEqual({ still: 'serving' });

    await app.stop();
    app = undefined;
    expect(rt.processCount).toBe(0);
    expect(osAlive(info.pid)).toBe(false);
  });

  it.skipIf(missing !== null && !servicesRequired())('runs the embedded model under Neural and names its client `local`', async () => {
    if (missing !== null) throw new Error(`The embedded model is required here (CI or DSPEX_REQUIRE_SERVICES is set): ${missing}`);
    rt = new Runtime({ logger: pino({ level: 'silent' }) });
    app = await DSPex.start(rt, { localModel: { gpu: false }, pools: { general: false, optimizer: false, neural: false }, signatureEngine: false });
    expect(app.lmNames[0]).toBe('local');
    expect(await app.tree()).toMatch(/Neural[^\n]*\n[^\n]*LocalLM/);
    const lm = await app.lm();
    const response = await lm.call({ messages: [{ role: 'user', content: 'Say hi.' }], config: { max_tokens: 4, temperature: 0, cache: false } });
    expect(response.outputs[0]!.text.length).toBeGreaterThan(0);
    expect(response.usage.completionTokens).toBeGreaterThan(0);
  }, 120_000);
});
