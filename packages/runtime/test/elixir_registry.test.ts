// More ports of Elixir's registry tests (registry_test.exs, registry/unique_test.exs, duplicate_test.exs),
// under the upstream case names: links between registered processes and the registry, cleanup, probing.
import { describe, expect, it } from 'vitest';
import { GenServer, Registry, type Pid, type RegistryKeys } from '../src/index.js';
import { asProcess, type Runtime } from '../src/runtime.js';
import { exitReasonOf, okPid, silentRuntime, testProcess } from './helpers.js';

async function startRegistry(rt: Runtime, keys: RegistryKeys, name = `reg-${keys}`): Promise<{ pid: Pid; registry: Registry<string, unknown> }> {
  const started = await Registry.start<string, unknown>(rt, { keys, name });
  if (!('ok' in started)) throw new Error('registry did not start');
  return { pid: started.ok, registry: started.registry };
}

const linksOf = (rt: Runtime, pid: Pid): Pid[] => rt.processInfo(pid)?.links ?? [];

for (const keys of ['unique', 'duplicate'] as const) {
  describe(`registry/${keys}_test.exs`, () => {
    it('links and unlinks on register/unregister', async () => {
      const rt = silentRuntime();
      const { pid, registry } = await startRegistry(rt, keys);
      const me = await testProcess(rt);
      expect(registry.register(me.self, 'hello', 'value')).toEqual({ ok: pid });
      expect(linksOf(rt, me.pid)).toContain(pid);
      expect(registry.register(me.self, 'world', 'value')).toEqual({ ok: pid });
      expect(linksOf(rt, me.pid)).toContain(pid);
      registry.unregister(me.self, 'hello');
      expect(linksOf(rt, me.pid)).toContain(pid);
      registry.unregister(me.self, 'world');
      expect(linksOf(rt, me.pid)).not.toContain(pid);
    });

    it('unregisters with no entries', async () => {
      const rt = silentRuntime();
      const { registry } = await startRegistry(rt, keys);
      const me = await testProcess(rt);
      expect(() => registry.unregister(me.self, 'hello')).not.toThrow();
      expect(registry.count()).toBe(0);
    });

    it(`has ${keys} registrations across processes`, async () => {
      const rt = silentRuntime();
      const { registry } = await startRegistry(rt, keys);
      const a = await testProcess(rt);
      const b = await testProcess(rt);
      expect('ok' in registry.register(a.self, 'hello', 'a')).toBe(true);
      const second = registry.register(b.self, 'hello', 'b');
      if (keys === 'unique') expect(second).toEqual({ error: { alreadyRegistered: a.pid } });
      else expect('ok' in second).toBe(true);
      expect(registry.lookup('hello')).toEqual(keys === 'unique' ? [[a.pid, 'a']] : [[a.pid, 'a'], [b.pid, 'b']]);
    });
  });
}

describe('registry/unique_test.exs', () => {
  it("doesn't grow ets on already_registered", async () => {
    const rt = silentRuntime();
    const { registry } = await startRegistry(rt, 'unique');
    const me = await testProcess(rt);
    registry.register(me.self, 'hello', 'value');
    expect(registry.count()).toBe(1);
    expect(registry.register(me.self, 'hello', 'value')).toEqual({ error: { alreadyRegistered: me.pid } });
    expect(registry.count()).toBe(1);
    expect(registry.keys(me.pid)).toEqual(['hello']);
  });
});

describe('registry_test.exs', () => {
  it('clean up registry on process crash', async () => {
    const rt = silentRuntime();
    const { pid, registry } = await startRegistry(rt, 'unique');
    const me = await testProcess(rt, { trapExit: false });
    registry.register(me.self, 'hello', 'value');
    const reason = exitReasonOf(rt, me.pid);
    rt.exit(me.pid, 'crashed');
    expect(await reason).toBe('crashed');
    // The registry traps exits: it outlives a crashing registrant, and the entry is gone.
    expect(rt.isAlive(pid)).toBe(true);
    expect(registry.lookup('hello')).toEqual([]);
    expect(await Registry.probe(rt, pid)).toBe(0);
  });
});

describe('Registry links (Elixir registers with a link)', () => {
  it('killing the registry takes down the processes registered in it; a trapping one gets an EXIT', async () => {
    const rt = silentRuntime();
    const { pid, registry } = await startRegistry(rt, 'duplicate');
    const plain = await testProcess(rt, { trapExit: false });
    const trapping = await testProcess(rt, { trapExit: true });
    registry.register(plain.self, 'k', 1);
    registry.register(trapping.self, 'k', 2);
    const plainDown = exitReasonOf(rt, plain.pid);
    rt.exit(pid, 'kill');
    expect(await plainDown).toBe('killed');
    expect(await trapping.exitOf(pid)).toBe('killed');
  });

  it('a via-registered GenServer is linked to the registry too', async () => {
    const rt = silentRuntime();
    const { pid, registry } = await startRegistry(rt, 'unique');
    const server = okPid(
      await GenServer.start(rt, {
        init: (_: void, self) => (registry.registerName('srv', self.pid) ? { ok: null } : { stop: 'taken' }),
      }, undefined),
    );
    expect(linksOf(rt, server)).toContain(pid);
    registry.unregisterName('srv');
    expect(linksOf(rt, server)).not.toContain(pid);
    expect(asProcess(server).alive).toBe(true);
  });
});

describe('Registry.probe', () => {
  it('answers with the entry count once earlier messages are taken; any other call crashes the registry', async () => {
    const rt = silentRuntime();
    const { pid, registry } = await startRegistry(rt, 'unique', 'probed');
    const me = await testProcess(rt);
    registry.register(me.self, 'a', 1);
    expect(await Registry.probe(rt, 'probed')).toBe(1);
    await expect(GenServer.call(rt, pid, 'health')).rejects.toMatchObject({ code: 'DSPEX_CALL_EXIT' });
  });
});
