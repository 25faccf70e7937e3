// Registry, ported from Elixir's registry/unique_test.exs and duplicate_test.exs (named after their cases),
// plus the guarantees this runtime adds: entries go synchronously with their owner, and the table with
// the registry process.
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import {
  BadArgumentError,
  GenServer,
  NoProcError,
  Registry,
  Runtime,
  Supervisor,
  type ExitReason,
  type Pid,
  type ProcessContext,
  type RegistryKeys,
} from '../src/index.js';
import { asProcess } from '../src/runtime.js';

const silent = () => new Runtime({ logger: pino({ level: 'silent' }) });

const down = (rt: Runtime, pid: Pid): Promise<ExitReason> => {
  const process = asProcess(pid);
  return process.alive ? new Promise((resolve) => rt.watch(process, (reason) => resolve(reason))) : Promise.resolve(process.exitReason);
};

async function startRegistry<V = unknown>(rt: Runtime, keys: RegistryKeys, name = `reg-${keys}`): Promise<Registry<string, V>> {
  const started = await Registry.start<string, V>(rt, { keys, name });
  if (!('ok' in started)) throw new Error('registry did not start');
  return started.registry;
}

/** Runs `fn` inside a new process (which then stays alive, idle) and resolves with its self and result. */
function inProcess<R>(rt: Runtime, fn: (self: ProcessContext) => R): Promise<{ self: ProcessContext; result: R }> {
  return new Promise((resolve) => {
    rt.spawn({
      init: (self: ProcessContext) => resolve({ self, result: fn(self) }),
      receive() {},
    });
  });
}

describe('Registry (unique keys)', () => {
  it('counts 0 keys in an empty registry', async () => {
    const rt = silent();
    const registry = await startRegistry(rt, 'unique');
    expect(registry.count()).toBe(0);
  });

  it('counts the number of keys in a registry', async () => {
    const rt = silent();
    const registry = await startRegistry(rt, 'unique');
    await inProcess(rt, (self) => {
      registry.register(self, 'hello', 'value');
      registry.register(self, 'world', 'value');
    });
    expect(registry.count()).toBe(2);
  });

  it('has unique registrations', async () => {
    const rt = silent();
    const registry = await startRegistry(rt, 'unique');
    const { self, result } = await inProcess(rt, (self) => [
      registry.register(self, 'hello', 'value'),
      registry.register(self, 'hello', 'value'),
      registry.register(self, 'world', 'value'),
    ]);
    const registryPid = rt.whereis('reg-unique');
    expect(result).toEqual([{ ok: registryPid }, { error: { alreadyRegistered: self.pid } }, { ok: registryPid }]);
    expect(registry.keys(self.pid)).toEqual(['hello', 'world']);
    expect(registry.lookup('hello')).toEqual([[self.pid, 'value']]);
  });

  it('has unique registrations across processes', async () => {
    const rt = silent();
    const registry = await startRegistry(rt, 'unique');
    const first = await inProcess(rt, (self) => registry.register(self, 'hello', 'value'));
    const second = await inProcess(rt, (self) => registry.register(self, 'hello', 'recent'));
    expect(second.result).toEqual({ error: { alreadyRegistered: first.self.pid } });
    expect(registry.keys(second.self.pid)).toEqual([]);
    expect(registry.lookup('hello')).toEqual([[first.self.pid, 'value']]);
  });

  it('removes entries synchronously when the owner exits (no stale lookups)', async () => {
    const rt = silent();
    const registry = await startRegistry(rt, 'unique');
    const { self } = await inProcess(rt, (self) => registry.register(self, 'hello', 'value'));
    // Whoever learns of the exit (a monitor here) already finds the entry gone.
    const seenAtDown = new Promise<unknown[]>((resolve) => rt.watch(asProcess(self.pid), () => resolve(registry.lookup('hello'))));
    rt.exit(self.pid, 'kill');
    expect(registry.lookup('hello')).toEqual([]);
    expect(await seenAtDown).toEqual([]);
    expect(registry.count()).toBe(0);
    expect(registry.keys(self.pid)).toEqual([]);
    // The key is free again at once.
    const next = await inProcess(rt, (s) => registry.register(s, 'hello', 'other'));
    expect(registry.lookup('hello')).toEqual([[next.self.pid, 'other']]);
  });

  it('supports match patterns', async () => {
    const rt = silent();
    const registry = await startRegistry<{ a: number; b: string }>(rt, 'unique');
    const value = { a: 1, b: 'atom' };
    const { self } = await inProcess(rt, (s) => registry.register(s, 'hello', value));
    expect(registry.match('hello', (v) => v.a === 1)).toEqual([[self.pid, value]]);
    expect(registry.match('hello', (v) => v.a === 2)).toEqual([]);
    expect(registry.match('world', () => true)).toEqual([]);
  });

  it('updates current process value', async () => {
    const rt = silent();
    const registry = await startRegistry<number>(rt, 'unique');
    const never = (): number => {
      throw new Error('will never be invoked');
    };
    await inProcess(rt, (s) => registry.register(s, 'hello', 1));
    const { self, result } = await inProcess(rt, (s) => [registry.updateValue(s, 'missing', never), registry.updateValue(s, 'hello', never)]);
    expect(result).toEqual([{ error: 'not_registered' }, { error: 'not_registered' }]);
    registry.register(self, 'world', 1);
    expect(registry.updateValue(self, 'world', (n) => n + 1)).toEqual({ new: 2, old: 1 });
    expect(registry.lookup('world')).toEqual([[self.pid, 2]]);
  });

  it('dispatches to a single key', async () => {
    const rt = silent();
    const registry = await startRegistry(rt, 'unique');
    registry.dispatch('hello', () => {
      throw new Error('will never be invoked');
    });
    const received: unknown[] = [];
    let done!: () => void;
    const got = new Promise<void>((resolve) => (done = resolve));
    let registered!: () => void;
    const isRegistered = new Promise<void>((resolve) => (registered = resolve));
    const owner = rt.spawn({
      init: (self: ProcessContext) => {
        registry.register(self, 'hello', 'value');
        registered();
      },
      receive: (message: unknown) => {
        received.push(message);
        done();
      },
    });
    await isRegistered;
    registry.dispatch('hello', (entries) => {
      for (const [pid, value] of entries) rt.send(pid, { dispatch: value });
    });
    await got;
    expect(received).toEqual([{ dispatch: 'value' }]);
    expect(registry.keys(owner)).toEqual(['hello']);
  });

  it('unregisters process by key', async () => {
    const rt = silent();
    const registry = await startRegistry(rt, 'unique');
    const { self } = await inProcess(rt, (s) => {
      registry.unregister(s, 'hello'); // unregisters with no entries
      registry.register(s, 'hello', 'value');
      registry.register(s, 'world', 'value');
    });
    expect(registry.keys(self.pid)).toEqual(['hello', 'world']);
    registry.unregister(self, 'hello');
    expect(registry.keys(self.pid)).toEqual(['world']);
    expect(registry.lookup('hello')).toEqual([]);
    registry.unregister(self, 'world');
    expect(registry.keys(self.pid)).toEqual([]);
    expect(registry.count()).toBe(0);
    // With no keys left, the owner's exit hook is gone too: its exit touches nothing.
    expect(asProcess(self.pid).exitHooks ?? []).toHaveLength(0);
  });

  it('raises on unknown registry name', async () => {
    const rt = silent();
    const unknown = Registry.of(rt, 'unknown');
    const { self } = await inProcess(rt, () => undefined);
    expect(() => unknown.register(self, 'hello', 'value')).toThrow(NoProcError);
    expect(() => unknown.lookup('hello')).toThrow(NoProcError);
    expect(unknown.whereisName('hello')).toBeUndefined();
  });

  it('via callbacks', async () => {
    const rt = silent();
    const registry = await startRegistry(rt, 'unique');
    const name = registry.via('hello');
    // A server takes a via name by registering itself in init (Elixir's register_name).
    const Agent = {
      init: (n: number, self: ProcessContext) =>
        registry.registerName('hello', self.pid) ? { ok: n } : { stop: { alreadyStarted: registry.whereisName('hello') } },
      handleCall: (_req: 'get', _from: unknown, n: number) => ({ reply: n, state: n }),
      handleCast: (by: number, n: number) => ({ noreply: true as const, state: n + by }),
    };
    const started = await GenServer.start(rt, Agent, 0);
    const pid = (started as { ok: Pid }).ok;
    GenServer.cast(rt, name, 1); // send
    expect(await GenServer.call(rt, name, 'get')).toBe(1); // whereis_name
    expect(await GenServer.start(rt, Agent, 0)).toEqual({ error: { alreadyStarted: pid } });
    expect(registry.lookup('hello')).toEqual([[pid, undefined]]);
    await GenServer.stop(rt, name);
    expect(registry.whereisName('hello')).toBeUndefined(); // unregister_name, by the exit
    await expect(GenServer.call(rt, name, 'get')).rejects.toBeInstanceOf(NoProcError);
    expect(() => rt.send(name, 'x')).toThrow(NoProcError);
  });

  it('clears its table when the registry process exits', async () => {
    const rt = silent();
    const registry = await startRegistry(rt, 'unique');
    const { self } = await inProcess(rt, (s) => registry.register(s, 'hello', 'value'));
    const registryPid = rt.whereis('reg-unique')!;
    const exited = down(rt, registryPid);
    rt.exit(registryPid, 'kill');
    expect(await exited).toBe('killed');
    expect(() => registry.lookup('hello')).toThrow(NoProcError);
    expect(asProcess(self.pid).exitHooks ?? []).toHaveLength(0);
    // A new registry under the name starts empty, and the old handle follows it.
    await startRegistry(rt, 'unique');
    expect(registry.lookup('hello')).toEqual([]);
    expect(registry.count()).toBe(0);
  });

  it('can be supervised directly', async () => {
    const rt = silent();
    const started = await Supervisor.start(rt, { strategy: 'one_for_one', children: [Registry.childSpec({ keys: 'unique', name: 'supervised' })] });
    expect('ok' in started).toBe(true);
    const registry = Registry.of(rt, 'supervised');
    const { self } = await inProcess(rt, (s) => registry.register(s, 'k', 1));
    expect(registry.lookup('k')).toEqual([[self.pid, 1]]);
    // Killed, it is restarted by its supervisor with an empty table.
    const first = rt.whereis('supervised')!;
    const restarted = new Promise<void>((resolve) => rt.telemetry.once('restart', () => resolve()));
    rt.exit(first, 'kill');
    await restarted;
    expect(rt.whereis('supervised')).not.toBe(first);
    expect(registry.lookup('k')).toEqual([]);
    await rt.shutdown();
  });

  it('rejects bad options', async () => {
    const rt = silent();
    await expect(Registry.start(rt, { keys: 'many' as never, name: 'x' })).rejects.toBeInstanceOf(BadArgumentError);
    await expect(Registry.start(rt, { keys: 'unique', name: '' })).rejects.toBeInstanceOf(BadArgumentError);
    await startRegistry(rt, 'unique', 'taken');
    expect(await Registry.start(rt, { keys: 'unique', name: 'taken' })).toEqual({ error: { alreadyStarted: rt.whereis('taken') } });
  });
});

describe('Registry (duplicate keys)', () => {
  it('has duplicate registrations', async () => {
    const rt = silent();
    const registry = await startRegistry(rt, 'duplicate');
    const { self, result } = await inProcess(rt, (s) => [registry.register(s, 'hello', 'value'), registry.register(s, 'hello', 'value')]);
    const registryPid = rt.whereis('reg-duplicate');
    expect(result).toEqual([{ ok: registryPid }, { ok: registryPid }]);
    expect(registry.keys(self.pid)).toEqual(['hello', 'hello']);
    const other = await inProcess(rt, (s) => registry.register(s, 'hello', 'other'));
    expect(registry.lookup('hello')).toEqual([[self.pid, 'value'], [self.pid, 'value'], [other.self.pid, 'other']]);
    expect(registry.count()).toBe(3);
    rt.exit(self.pid, 'kill');
    expect(registry.lookup('hello')).toEqual([[other.self.pid, 'other']]);
    expect(registry.count()).toBe(1);
  });

  it('dispatches to multiple keys', async () => {
    const rt = silent();
    const registry = await startRegistry(rt, 'duplicate');
    const a = await inProcess(rt, (s) => registry.register(s, 'topic', 1));
    const b = await inProcess(rt, (s) => registry.register(s, 'topic', 2));
    const seen: Array<[Pid, unknown]> = [];
    registry.dispatch('topic', (entries) => seen.push(...entries));
    expect(seen).toEqual([[a.self.pid, 1], [b.self.pid, 2]]);
  });

  it('unregisters by key', async () => {
    const rt = silent();
    const registry = await startRegistry(rt, 'duplicate');
    const { self } = await inProcess(rt, (s) => {
      registry.register(s, 'hello', 1);
      registry.register(s, 'hello', 2);
      registry.register(s, 'world', 3);
    });
    registry.unregister(self, 'hello');
    expect(registry.lookup('hello')).toEqual([]);
    expect(registry.keys(self.pid)).toEqual(['world']);
  });

  it('refuses via names and updateValue', async () => {
    const rt = silent();
    const registry = await startRegistry(rt, 'duplicate');
    const { self } = await inProcess(rt, (s) => registry.register(s, 'hello', 1));
    expect(() => registry.via('hello')).toThrow(BadArgumentError);
    expect(() => registry.updateValue(self, 'hello', (n) => n)).toThrow(BadArgumentError);
  });
});
