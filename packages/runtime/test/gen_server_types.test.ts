// GenServer.call replies typed from the behaviour: a typed reference (the pid start gives, or
// GenServer.ref<typeof behaviour>(name)) checks requests against the behaviour's Call type and infers the
// reply, per request with TypedCall. The expectTypeOf checks run under `tsc --noEmit` (the package's test
// script typechecks test/ first); the runtime assertions prove the values match the types.

import { describe, expect, expectTypeOf, it } from 'vitest';
import { GenServer, type GenServerBehavior, type Pid, type RepliesOf, type ReplyFor, type ServerPid, type StartResult, type TypedCall } from '../src/index.js';
import { okPid, silentRuntime } from './helpers.js';

// One reply type for every request: the 4th parameter.
type KvCall = { op: 'get'; key: string } | { op: 'put'; key: string; value: number };
const kv: GenServerBehavior<Map<string, number>, void, KvCall, number | undefined, { op: 'clear' }> = {
  init: () => ({ ok: new Map() }),
  handleCall(request, _from, state) {
    if (request.op === 'put') state.set(request.key, request.value);
    return { reply: state.get(request.key), state };
  },
  handleCast: (_message, state) => ({ noreply: true, state: new Map() }),
};

// A reply per request: Call is a union of TypedCall, R defaults to the union of their replies.
type CounterCall = TypedCall<{ op: 'get' }, number> | TypedCall<{ op: 'name' }, string> | TypedCall<{ op: 'add'; by: number }, 'ok'>;
const counter: GenServerBehavior<number, void, CounterCall> = {
  init: () => ({ ok: 0 }),
  handleCall(request, _from, state) {
    if (request.op === 'get') return { reply: state, state };
    if (request.op === 'name') return { reply: 'counter', state };
    return { reply: 'ok', state: state + request.by };
  },
};

describe('GenServer.call types', () => {
  it('maps requests to replies with ReplyFor and RepliesOf', () => {
    expectTypeOf<RepliesOf<CounterCall>>().toEqualTypeOf<number | string | 'ok'>();
    expectTypeOf<RepliesOf<KvCall>>().toEqualTypeOf<unknown>();
    expectTypeOf<RepliesOf<never>>().toEqualTypeOf<unknown>();
    expectTypeOf<ReplyFor<CounterCall, RepliesOf<CounterCall>, { op: 'add'; by: 1 }>>().toEqualTypeOf<'ok'>();
    expectTypeOf<ReplyFor<KvCall, number, { op: 'get'; key: 'a' }>>().toEqualTypeOf<number>();
  });

  it('types the pid start gives with the behaviour protocol, still a Pid', async () => {
    const rt = silentRuntime();
    const started = await GenServer.start(rt, kv, undefined);
    expectTypeOf(started).toEqualTypeOf<StartResult<ServerPid<KvCall, number | undefined, { op: 'clear' }>>>();
    const pid = okPid(started) as ServerPid<KvCall, number | undefined, { op: 'clear' }>;
    expectTypeOf(pid).toMatchTypeOf<Pid>();
    const put = GenServer.call(rt, pid, { op: 'put', key: 'a', value: 1 });
    expectTypeOf(put).toEqualTypeOf<Promise<number | undefined>>();
    expect(await put).toBe(1);
    // @ts-expect-error a request outside the behaviour's Call type
    await GenServer.call(rt, pid, { op: 'delete', key: 'a' }).catch(() => undefined);
    // @ts-expect-error a misspelled field
    void GenServer.call(rt, pid, { op: 'get', kye: 'a' }).catch(() => undefined);
    GenServer.cast(rt, pid, { op: 'clear' });
    // @ts-expect-error a cast outside the behaviour's Cast type
    GenServer.cast(rt, pid, { op: 'reset' });
    expect(await GenServer.call(rt, pid, { op: 'get', key: 'a' })).toBeUndefined();
    await rt.shutdown();
  });

  it('infers each TypedCall request its own reply', async () => {
    const rt = silentRuntime();
    const result = await GenServer.start(rt, counter, undefined);
    if (!('ok' in result)) throw new Error('not started');
    const pid = result.ok;
    const added = GenServer.call(rt, pid, { op: 'add', by: 2 });
    expectTypeOf(added).toEqualTypeOf<Promise<'ok'>>();
    const count = GenServer.call(rt, pid, { op: 'get' });
    expectTypeOf(count).toEqualTypeOf<Promise<number>>();
    const name = GenServer.call(rt, pid, { op: 'name' });
    expectTypeOf(name).toEqualTypeOf<Promise<string>>();
    expect([await added, await count, await name]).toEqual(['ok', 2, 'counter']);
    // @ts-expect-error `by` must be a number
    void GenServer.call(rt, pid, { op: 'add', by: '2' }).catch(() => undefined);
    await rt.shutdown();
  });

  it('types a registered name with GenServer.ref<typeof behaviour>', async () => {
    const rt = silentRuntime();
    await GenServer.start(rt, counter, undefined, { name: 'counter' });
    const ref = GenServer.ref<typeof counter>('counter');
    expect(ref).toBe('counter');
    const count = GenServer.call(rt, ref, { op: 'get' });
    expectTypeOf(count).toEqualTypeOf<Promise<number>>();
    expect(await count).toBe(0);
    const kvRef = GenServer.ref<typeof kv>('kv');
    expectTypeOf(GenServer.call(rt, kvRef, { op: 'get', key: 'x' }).catch(() => undefined)).toEqualTypeOf<Promise<number | undefined>>();
    await rt.shutdown();
  });

  it('keeps plain pids and names untyped, with an explicit reply type when given', async () => {
    const rt = silentRuntime();
    const pid: Pid = okPid(await GenServer.start(rt, counter, undefined, { name: 'plain' }));
    const loose = GenServer.call(rt, pid, { op: 'get' });
    expectTypeOf(loose).toEqualTypeOf<Promise<unknown>>();
    const named = GenServer.call<number>(rt, 'plain', { op: 'get' });
    expectTypeOf(named).toEqualTypeOf<Promise<number>>();
    expectTypeOf(GenServer.call(rt, 'plain', 'anything')).toEqualTypeOf<Promise<unknown>>();
    expect([await loose, await named]).toEqual([0, 0]);
    GenServer.cast(rt, 'plain', 'anything at all');
    await rt.shutdown();
  });
});
