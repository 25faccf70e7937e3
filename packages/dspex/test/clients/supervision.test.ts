// The LM subtree: lmSupervisorSpec starts one LMClient per configured LM under a one_for_one supervisor;
// a client that crashes is restarted alone, and a handle from LM.connect keeps working across the restart.

import { Supervisor, type Pid, type Runtime } from '@dspex/runtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LM, lmSupervisorSpec } from '../../src/clients/index.js';
import { ScriptedServer, openaiReply, quietRuntime } from './helpers.js';

let rt: Runtime;
let server: ScriptedServer;

beforeEach(async () => {
  rt = quietRuntime();
  server = await ScriptedServer.start();
  server.fallback = openaiReply('ok');
});
afterEach(async () => {
  await rt.shutdown();
  await server.close();
});

describe('LM supervisor', () => {
  it('restarts a crashed client alone; handles reach the new process by name', async () => {
    const spec = lmSupervisorSpec([
      { name: 'one', model: 'openai/one', apiBase: server.url, cache: { memory: false } },
      { name: 'two', model: 'openai/two', apiBase: server.url, cache: { memory: false } },
    ]);
    const started = await Supervisor.start(rt, { strategy: 'one_for_one', children: [spec] });
    expect('ok' in started).toBe(true);
    const one = await LM.connect(rt, 'one');
    const two = await LM.connect(rt, 'two');
    expect(one.model).toBe('openai/one');
    await one.call({ messages: [{ role: 'user', content: 'a' }] });

    const before = { one: LM.whereis(rt, 'one')!, two: LM.whereis(rt, 'two')! };
    const restarted = new Promise<void>((resolve) => rt.telemetry.on('restart', (e) => e.childId === 'LMClient:one' && resolve()));
    rt.exit(before.one, 'boom');
    await restarted;
    const after: { one: Pid | undefined; two: Pid | undefined } = { one: LM.whereis(rt, 'one'), two: LM.whereis(rt, 'two') };
    expect(after.one).toBeDefined();
    expect(after.one).not.toBe(before.one);
    expect(after.two).toBe(before.two);

    await expect(one.call({ messages: [{ role: 'user', content: 'b' }] })).resolves.toMatchObject({ outputs: [{ text: 'ok' }] });
    await expect(two.call({ messages: [{ role: 'user', content: 'c' }] })).resolves.toMatchObject({ outputs: [{ text: 'ok' }] });
    // A restart starts the totals afresh, as any process state.
    expect(await one.usage()).toMatchObject({ calls: 1 });
  });

  it('a child spec with bad options throws when the tree is built, not later', () => {
    expect(() => LM.childSpec({ model: 'mystery/model' })).toThrow(/unknown provider "mystery"/);
  });
});
