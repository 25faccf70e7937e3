// The operations other packages use instead of the runtime's core (Runtime.onExit), the runtime's promise
// that no timer outlives shutdown(), servers started under via-names, and formatTree's names. Imports go
// through the public entry point only, as another package's would.

import { AsyncLocalStorage } from 'node:async_hooks';
import { describe, expect, it } from 'vitest';
import {
  DynamicSupervisor,
  GenServer,
  Registry,
  Supervisor,
  Task,
  TaskSupervisor,
  formatTree,
  supervisionTree,
  type ProcessContext,
  type GenServerBehavior,
  type Pid,
} from '../src/index.js';
import { okPid, silentRuntime } from './helpers.js';

const idle: GenServerBehavior<null, void, 'ping', 'pong'> = {
  init: () => ({ ok: null }),
  handleCall: (_request, _from, state) => ({ reply: 'pong', state }),
};

/** Node's pending timers: what would keep the process alive or fire after shutdown. */
const pendingTimers = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

describe('Runtime.onExit', () => {
  it('calls the hook once with the exit reason, and not after cancel', async () => {
    const rt = silentRuntime();
    const pid = rt.spawn(() => {});
    const other = rt.spawn(() => {});
    const reasons: unknown[] = [];
    rt.onExit(pid, (reason) => reasons.push(reason));
    const cancel = rt.onExit(other, (reason) => reasons.push(['cancelled', reason]));
    cancel();
    rt.exit(pid, 'boom');
    rt.exit(other, 'boom');
    expect(reasons).toEqual(['boom']);
    await rt.shutdown();
  });

  it('answers noproc for a pid that is already dead, on a microtask', async () => {
    const rt = silentRuntime();
    const pid = rt.spawn(() => {});
    rt.exit(pid, 'kill');
    const reason = await new Promise((resolve) => {
      let sync = true;
      rt.onExit(pid, (r) => resolve(sync ? 'synchronous' : r));
      sync = false;
    });
    expect(reason).toBe('noproc');
    await rt.shutdown();
  });

  it('logs a hook that throws and still runs the others', async () => {
    const rt = silentRuntime();
    const pid = rt.spawn(() => {});
    const errors: unknown[] = [];
    rt.telemetry.on('internal_error', ({ error }) => errors.push(error));
    let ran = false;
    rt.onExit(pid, () => {
      throw new Error('hook bug');
    });
    rt.onExit(pid, () => (ran = true));
    rt.exit(pid, 'kill');
    expect(ran).toBe(true);
    expect(errors).toHaveLength(1);
    await rt.shutdown();
  });
});

describe('no timer outlives shutdown', () => {
  it('cancels sendAfter, GenServer timeouts, call timeouts and receive timeouts', async () => {
    const before = pendingTimers();
    const rt = silentRuntime();
    const waiting: GenServerBehavior<null> = {
      init: () => ({ ok: null, timeout: 60_000 }),
      handleInfo: (_message, state) => ({ noreply: true, state, timeout: 60_000 }),
    };
    const server = okPid(await GenServer.start(rt, waiting, undefined));
    const trapping = okPid(await GenServer.start(rt, waiting, undefined, { trapExit: true }));
    const silent: GenServerBehavior<null, void, 'hang'> = { init: () => ({ ok: null }), handleCall: (_r, _f, state) => ({ noreply: true, state }) };
    const hanging = okPid(await GenServer.start(rt, silent, undefined));
    const pending = GenServer.call(rt, hanging, 'hang', 60_000).catch((error: unknown) => error);
    rt.sendAfter(server, 'late', 60_000);
    rt.sendAfter('nobody-yet', 'late', 60_000);
    rt.spawn({ init: (self) => self.receive(undefined, 60_000), receive() {} });
    await rt.whenIdle();
    expect(pendingTimers()).toBeGreaterThanOrEqual(before + 6);
    await rt.shutdown();
    await pending;
    expect(rt.isAlive(trapping)).toBe(false);
    expect(pendingTimers()).toBe(before);
  });

  it('leaves no scheduler tick behind: the kills at the end of shutdown are handled before it resolves', async () => {
    const rt = silentRuntime();
    // Trapping processes that ignore `shutdown`: shutdown(0) kills them, and each kill sends its links an exit
    // signal, which queues a tick.
    const stubborn = () => rt.spawn({ receive() {} }, { trapExit: true });
    const pids = Array.from({ length: 4 }, stubborn);
    for (let i = 1; i < pids.length; i++) rt.link(pids[i - 1]!, pids[i]!);
    await rt.whenIdle();
    await rt.shutdown(0);
    expect(process.getActiveResourcesInfo().filter((kind) => kind === 'Immediate')).toEqual([]);
  });

  it('clears the gen_server timeout of a killed server (terminate never runs)', async () => {
    const before = pendingTimers();
    const rt = silentRuntime();
    const waiting: GenServerBehavior<null> = { init: () => ({ ok: null, timeout: 60_000 }) };
    const server = okPid(await GenServer.start(rt, waiting, undefined));
    expect(pendingTimers()).toBe(before + 1);
    rt.exit(server, 'kill');
    expect(pendingTimers()).toBe(before);
    await rt.shutdown();
  });
});

describe('no timer outlives a stop that is already over', () => {
  it('a supervisor stopping a child that does not trap exits arms no shutdown timer (the child is dead at once)', async () => {
    const before = pendingTimers();
    const rt = silentRuntime();
    const idle: GenServerBehavior<null> = { init: () => ({ ok: null }) };
    const children = ['a', 'b'].map((id) => ({ id, shutdown: 60_000, start: (parent: ProcessContext) => GenServer.startLink(parent, idle, undefined) }));
    const sup = okPid(await Supervisor.start(rt, { strategy: 'one_for_one', children }));
    await Supervisor.stop(rt, sup);
    // Before the fix each child left a 60 s timer armed after it had exited, holding the event loop.
    expect(pendingTimers()).toBe(before);
    await rt.shutdown();
  });

  it('a start timeout is not armed when init already answered', async () => {
    const before = pendingTimers();
    const rt = silentRuntime();
    const quick: GenServerBehavior<null> = { init: () => ({ ok: null }) };
    okPid(await GenServer.start(rt, quick, undefined, { timeout: 60_000 }));
    expect(pendingTimers()).toBe(before);
    await rt.shutdown();
  });
});

describe('async context (AsyncLocalStorage) across processes', () => {
  const scope = new AsyncLocalStorage<string>();

  it('a server handles each message in the root context, never in the context of the caller that woke the scheduler', async () => {
    const rt = silentRuntime();
    const seen: GenServerBehavior<null, void, 'where'> = { init: () => ({ ok: null }), handleCall: (_r, _f, state) => ({ reply: scope.getStore() ?? 'root', state }) };
    const server = okPid(await GenServer.start(rt, seen, undefined));
    const replies = await Promise.all(['a', 'b', 'c'].map((name) => scope.run(name, () => GenServer.call(rt, server, 'where'))));
    expect(replies).toEqual(['root', 'root', 'root']);
    await rt.shutdown();
  });

  it('a task runs its function in the context of the code that started it, also when many start at once', async () => {
    const rt = silentRuntime();
    const sup = okPid(await TaskSupervisor.start(rt));
    const names = Array.from({ length: 30 }, (_, i) => `caller-${i}`);
    const inTask = (): Promise<string | undefined> => Promise.resolve().then(() => scope.getStore());
    const viaAsync = await Promise.all(names.map((name) => scope.run(name, () => Task.await(Task.async(rt, inTask)))));
    const viaSupervisor = await Promise.all(names.map((name) => scope.run(name, async () => Task.await(await TaskSupervisor.asyncNolink(rt, sup, inTask)))));
    expect(viaAsync).toEqual(names);
    expect(viaSupervisor).toEqual(names);
    const streamed = await scope.run('stream', async () => {
      const out: Array<string | undefined> = [];
      for await (const item of Task.asyncStream(rt, [1, 2, 3], () => inTask(), { maxConcurrency: 2 })) out.push('ok' in item ? item.ok : undefined);
      return out;
    });
    expect(streamed).toEqual(['stream', 'stream', 'stream']);
    await rt.shutdown();
  });
});

describe('GenServer under a via-name', () => {
  it('registers before init, resolves through the registry, and refuses a taken key', async () => {
    const rt = silentRuntime();
    const started = await Registry.start<string>(rt, { keys: 'unique', name: 'servers' });
    if (!('ok' in started)) throw new Error('no registry');
    const registry = started.registry;
    let seenInInit: Pid | undefined;
    const named: GenServerBehavior<null, void, 'ping', 'pong'> = {
      init: (_args, self) => {
        seenInInit = registry.whereisName('counter');
        expect(seenInInit).toBe(self.pid);
        return { ok: null };
      },
      handleCall: (_request, _from, state) => ({ reply: 'pong', state }),
    };
    const pid = okPid(await GenServer.start(rt, named, undefined, { name: registry.via('counter') }));
    expect(seenInInit).toBe(pid);
    expect(await GenServer.call(rt, registry.via('counter'), 'ping')).toBe('pong');
    expect(await GenServer.start(rt, named, undefined, { name: registry.via('counter') })).toEqual({ error: { alreadyStarted: pid } });
    await GenServer.stop(rt, pid);
    expect(registry.whereisName('counter')).toBeUndefined();
    await rt.shutdown();
  });

  it('answers { error } when the registry is not running', async () => {
    const rt = silentRuntime();
    const registry = Registry.of<string>(rt, 'missing');
    const result = await GenServer.start(rt, idle, undefined, { name: registry.via('x') });
    expect('error' in result).toBe(true);
    expect(rt.processCount).toBe(0);
    await rt.shutdown();
  });
});

describe('formatTree', () => {
  it('shows child ids, registered names and, for dynamic children, their name or label', async () => {
    const rt = silentRuntime();
    const app = okPid(
      await Supervisor.start(
        rt,
        {
          strategy: 'one_for_one',
          children: [
            { id: 'cache', start: (parent) => GenServer.startLink(parent, idle, undefined, { name: 'app.cache' }) },
            DynamicSupervisor.childSpec({ name: 'app.sessions' }, { id: 'sessions' }),
          ],
        },
        { name: 'app' },
      ),
    );
    await DynamicSupervisor.startChild(rt, 'app.sessions', { id: 's', start: (parent) => GenServer.startLink(parent, idle, undefined, { name: 'session:42' }) });
    await DynamicSupervisor.startChild(rt, 'app.sessions', { id: 's', start: (parent) => GenServer.startLink(parent, idle, undefined) });
    const text = formatTree(await supervisionTree(rt, app));
    const lines = text.split('\n').map((line) => line.replace(/<0\.\d+\.0>/, '<pid>'));
    expect(lines).toEqual([
      'app  <pid>  supervisor',
      '├── cache [app.cache]  <pid>  worker',
      '└── sessions [app.sessions]  <pid>  supervisor',
      '    ├── session:42  <pid>  worker',
      '    └── gen_server  <pid>  worker',
    ]);
    expect(text).not.toContain('(dynamic)');
    await rt.shutdown();
  });
});
