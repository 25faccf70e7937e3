// Ports of Elixir's gen_server_test.exs and of gen_server_SUITE / gen.erl cases not covered by
// gen_server_suite.test.ts, under the upstream names: stop/3, call/3 exit messages, stop's timeout guard,
// and {stop, Reason, Reply, State} running terminate before the reply.
import { describe, expect, it } from 'vitest';
import { BadArgumentError, CallingSelfError, CallTimeoutError, GenServer, NoProcError, Registry, type GenServerBehavior, type Pid } from '../src/index.js';
import type { Runtime } from '../src/runtime.js';
import { exitReasonOf, okPid, silentRuntime, testProcess } from './helpers.js';

type StackCall = 'pop' | 'noreply' | 'stop_self' | { push: unknown };

/** Elixir's test Stack: a list server that can also try to stop itself from inside a call. */
const Stack: GenServerBehavior<unknown[], unknown[], StackCall, unknown> = {
  init: (items) => ({ ok: items }),
  async handleCall(request, _from, state, self) {
    if (request === 'pop') return { reply: state[0], state: state.slice(1) };
    if (request === 'noreply') return { noreply: true, state };
    if (request === 'stop_self') {
      const caught = await GenServer.stop(self, self.pid).then(() => 'stopped', (error: unknown) => error);
      return { reply: caught, state };
    }
    return { reply: 'ok', state: [request.push, ...state] };
  },
};

const startStack = async (rt: Runtime, items: unknown[] = [], name?: string): Promise<Pid> =>
  okPid(await GenServer.start(rt, Stack, items, name === undefined ? {} : { name }));

describe('gen_server_test.exs', () => {
  it('stop/3', async () => {
    const rt = silentRuntime();
    const pid = await startStack(rt);
    await expect(GenServer.stop(rt, pid, 'normal')).resolves.toBeUndefined();
    await expect(GenServer.stop(rt, pid)).rejects.toBeInstanceOf(NoProcError);
    await expect(GenServer.stop(rt, 'nil')).rejects.toBeInstanceOf(NoProcError);
    const second = await startStack(rt);
    const caught = await GenServer.call(rt, second, 'stop_self');
    expect(caught).toBeInstanceOf(CallingSelfError);
    expect((caught as CallingSelfError).code).toBe('DSPEX_CALLING_SELF');
    // The server did not deadlock: it still answers.
    expect(await GenServer.call(rt, second, { push: 1 })).toBe('ok');
    await startStack(rt, [], 'stack-for-stop');
    await expect(GenServer.stop(rt, 'stack-for-stop', 'normal')).resolves.toBeUndefined();
  });

  it('call/3 exit messages', async () => {
    const rt = silentRuntime();
    const me = await testProcess(rt);
    rt.register('self', me.pid);
    const pid = await startStack(rt, ['hello']);
    const stopped = await startStack(rt, ['hello']);
    await GenServer.stop(rt, stopped);
    await expect(GenServer.call(me.self, 'self', 'pop')).rejects.toBeInstanceOf(CallingSelfError);
    await expect(GenServer.call(me.self, me.pid, 'pop')).rejects.toBeInstanceOf(CallingSelfError);
    const registry = (await Registry.start(rt, { keys: 'unique', name: 'names' })) as { registry: Registry<string, unknown> };
    registry.registry.register(me.self, 'me', null);
    await expect(GenServer.call(me.self, registry.registry.via('me'), 'pop')).rejects.toBeInstanceOf(CallingSelfError);
    await expect(GenServer.call(me.self, pid, 'noreply', 1)).rejects.toBeInstanceOf(CallTimeoutError);
    await expect(GenServer.call(me.self, 'nil', 'pop')).rejects.toBeInstanceOf(NoProcError);
    await expect(GenServer.call(me.self, stopped, 'pop')).rejects.toBeInstanceOf(NoProcError);
  });
});

describe("gen.erl stop/3's guard: Timeout is infinity or an integer >= 0", () => {
  for (const bad of [-1, Number.NaN, 1.5, '100' as unknown as number]) {
    it(`refuses ${String(bad)} before acting: the server keeps running`, async () => {
      const rt = silentRuntime();
      const pid = await startStack(rt);
      await expect(GenServer.stop(rt, pid, 'normal', bad)).rejects.toBeInstanceOf(BadArgumentError);
      expect(rt.isAlive(pid)).toBe(true);
      expect(await GenServer.call(rt, pid, { push: 1 })).toBe('ok');
    });
  }

  it('accepts 0 and Infinity', async () => {
    const rt = silentRuntime();
    await expect(GenServer.stop(rt, await startStack(rt), 'normal', Infinity)).resolves.toBeUndefined();
    const pid = await startStack(rt);
    const exited = exitReasonOf(rt, pid);
    // 0 ms: it may or may not exit in time, but the stop is sent either way.
    await GenServer.stop(rt, pid, 'normal', 0).catch((error: unknown) => expect(error).toBeInstanceOf(CallTimeoutError));
    expect(await exited).toBe('normal');
  });
});

describe('gen_server.erl handle_msg: {stop, Reason, Reply, State}', () => {
  it('runs terminate, then replies (also when terminate crashes)', async () => {
    const rt = silentRuntime();
    for (const crash of [false, true]) {
      const order: string[] = [];
      let openGate!: () => void;
      const gate = new Promise<void>((resolve) => (openGate = resolve));
      let terminating!: () => void;
      const inTerminate = new Promise<void>((resolve) => (terminating = resolve));
      const behavior: GenServerBehavior<null, void, 'stop', string> = {
        init: () => ({ ok: null }),
        handleCall: () => ({ stop: 'normal', reply: 'bye', state: null }),
        async terminate() {
          order.push('terminate started');
          terminating();
          await gate;
          order.push('terminate ended');
          if (crash) throw new Error('terminate failed');
        },
      };
      const pid = okPid(await GenServer.start(rt, behavior, undefined));
      const call = GenServer.call<string>(rt, pid, 'stop').then((reply) => order.push(`reply ${reply}`));
      await inTerminate;
      openGate();
      await call;
      expect(order).toEqual(['terminate started', 'terminate ended', 'reply bye']);
    }
  });
});

describe('gen_server_SUITE (stop group, undef_callbacks group)', () => {
  it('stop3', async () => {
    const rt = silentRuntime();
    const pid = await startStack(rt);
    await expect(GenServer.stop(rt, pid, 'other_reason', 'invalid_timeout' as unknown as number)).rejects.toBeInstanceOf(BadArgumentError);
    expect(rt.isAlive(pid)).toBe(true);
    await GenServer.stop(rt, pid);
    expect(rt.isAlive(pid)).toBe(false);
  });

  it('stop7', async () => {
    const rt = silentRuntime();
    const started = await Registry.start<string, unknown>(rt, { keys: 'unique', name: 'dummy_via' });
    if (!('ok' in started)) throw new Error('registry did not start');
    const via = started.registry.via('to_stop');
    const pid = okPid(await GenServer.start(rt, { init: (_: void, self) => (started.registry.registerName('to_stop', self.pid) ? { ok: null } : { stop: 'taken' }) }, undefined));
    await GenServer.stop(rt, via);
    expect(rt.isAlive(pid)).toBe(false);
    await expect(GenServer.stop(rt, via)).rejects.toBeInstanceOf(NoProcError);
  });

  it('undef_handle_call', async () => {
    const rt = silentRuntime();
    const pid = okPid(await GenServer.start(rt, { init: () => ({ ok: null }) }, undefined));
    await expect(GenServer.call(rt, pid, 'call')).rejects.toMatchObject({ code: 'DSPEX_CALL_EXIT' });
    expect(rt.isAlive(pid)).toBe(false);
  });

  it('undef_handle_cast', async () => {
    const rt = silentRuntime();
    const pid = okPid(await GenServer.start(rt, { init: () => ({ ok: null }) }, undefined));
    const exited = exitReasonOf(rt, pid);
    GenServer.cast(rt, pid, 'cast');
    expect(await exited).toBeInstanceOf(BadArgumentError);
  });

  it('undef_handle_info', async () => {
    const rt = silentRuntime();
    const pid = okPid(await GenServer.start(rt, { init: () => ({ ok: null }), handleCall: (_r: unknown, _f, s: null) => ({ reply: 'alive', state: s }) }, undefined));
    rt.send(pid, 'hello');
    // The stray message is logged and dropped; the server carries on.
    expect(await GenServer.call(rt, pid, 'ping')).toBe('alive');
  });

  it('undef_terminate1 and undef_terminate2: a server without terminate stops with its reason', async () => {
    const rt = silentRuntime();
    const pid = okPid(await GenServer.start(rt, { init: () => ({ ok: null }), handleCall: (_r: unknown, _f, s: null) => ({ stop: 'normal', state: s }) }, undefined));
    const exited = exitReasonOf(rt, pid);
    await GenServer.call(rt, pid, 'stop').catch(() => undefined);
    expect(await exited).toBe('normal');
    const other = okPid(await GenServer.start(rt, { init: () => ({ ok: null }) }, undefined));
    const reason = exitReasonOf(rt, other);
    await GenServer.stop(rt, other, 'other_reason').catch(() => undefined);
    expect(await reason).toBe('other_reason');
  });

  it('undef_in_terminate: a crash in terminate becomes the exit reason', async () => {
    const rt = silentRuntime();
    const boom = new Error('undef');
    const pid = okPid(await GenServer.start(rt, {
      init: () => ({ ok: null }),
      terminate() {
        throw boom;
      },
    }, undefined));
    const exited = exitReasonOf(rt, pid);
    await expect(GenServer.stop(rt, pid)).rejects.toMatchObject({ code: 'DSPEX_CALL_EXIT', reason: boom });
    expect(await exited).toBe(boom);
  });
});
