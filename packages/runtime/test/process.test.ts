import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Down, Exit, GenServer, Runtime, TIMEOUT, type Pid, type ProcessContext } from '../src/index.js';

const silent = () => new Runtime({ logger: pino({ level: 'silent' }) });

/** A process that forwards every message it gets to `to`: the test's eyes inside the runtime. */
function collector(rt: Runtime) {
  const seen: unknown[] = [];
  const waiters: Array<{ match: (m: unknown) => boolean; resolve: (m: unknown) => void }> = [];
  const pid = rt.spawn((message: unknown) => {
    seen.push(message);
    const i = waiters.findIndex((w) => w.match(message));
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve(message);
  }, { trapExit: true });
  const next = <T>(match: (m: unknown) => boolean): Promise<T> => {
    const already = seen.find(match);
    if (already !== undefined) return Promise.resolve(already as T);
    return new Promise((resolve) => waiters.push({ match, resolve: resolve as (m: unknown) => void }));
  };
  return { pid, seen, next };
}

describe('processes', () => {
  it('delivers messages in FIFO order and not in the sender stack', async () => {
    const rt = silent();
    const got: number[] = [];
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const pid = rt.spawn((n: number) => {
      got.push(n);
      if (n === 99) done();
    });
    for (let i = 0; i < 100; i++) rt.send(pid, i);
    expect(got).toEqual([]);
    await finished;
    expect(got).toEqual([...Array(100).keys()]);
  });

  it('prints pids like Erlang', () => {
    const rt = silent();
    const pid = rt.spawn(() => undefined);
    expect(String(pid)).toMatch(/^<0\.\d+\.0>$/);
  });

  it('selective receive takes the first match and leaves the rest in order', async () => {
    const rt = silent();
    const order: unknown[] = [];
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const pid = rt.spawn({
      async init(self: ProcessContext) {
        const b = await self.receive((m) => m === 'b');
        order.push(b);
        const rest = [await self.receive(), await self.receive()];
        order.push(...rest);
        expect(await self.receive(undefined, 0)).toBe(TIMEOUT);
        done();
      },
      receive() {},
    });
    rt.send(pid, 'a');
    rt.send(pid, 'b');
    rt.send(pid, 'c');
    await finished;
    expect(order).toEqual(['b', 'a', 'c']);
  });

  it('links propagate abnormal exits, trapExit turns them into EXIT messages, normal exits do not kill', async () => {
    const rt = silent();
    const watcher = collector(rt);
    const a = rt.spawn(() => undefined, { link: watcher.pid });
    const b = rt.spawn(() => undefined);
    rt.link(a, b);
    const ref = rt.monitor(watcher.pid, b);
    rt.exit(a, 'boom');
    const exit = await watcher.next<Exit>((m) => m instanceof Exit);
    expect(exit.reason).toBe('boom');
    const down = await watcher.next<Down>((m) => m instanceof Down);
    expect(down.ref).toBe(ref);
    expect(down.reason).toBe('boom');
    expect(rt.isAlive(b)).toBe(false);

    const c = rt.spawn(() => undefined);
    const d = rt.spawn(() => undefined);
    rt.link(c, d);
    rt.exit(c, 'normal'); // an exit signal 'normal' from another process is ignored
    expect(rt.isAlive(c)).toBe(true);
    rt.exit(c, 'kill');
    expect(rt.isAlive(c)).toBe(false);
    expect(rt.isAlive(d)).toBe(false); // killed propagates as 'killed'
  });

  it('a monitor of a dead process gets DOWN noproc at once', async () => {
    const rt = silent();
    const watcher = collector(rt);
    const dead = rt.spawn(() => undefined);
    rt.exit(dead, 'kill');
    rt.monitor(watcher.pid, dead);
    const down = await watcher.next<Down>((m) => m instanceof Down);
    expect(down.reason).toBe('noproc');
  });

  it('a crash in a handler exits the process with the error and writes a crash report', async () => {
    const rt = silent();
    const reports: unknown[] = [];
    rt.telemetry.on('crash_report', (e) => reports.push(e.reason));
    const watcher = collector(rt);
    const pid = rt.spawn(() => {
      throw new Error('bad message');
    });
    rt.monitor(watcher.pid, pid);
    rt.send(pid, 'x');
    const down = await watcher.next<Down>((m) => m instanceof Down);
    expect((down.reason as Error).message).toBe('bad message');
    expect(reports).toHaveLength(1);
  });
});

describe('GenServer', () => {
  const Counter = {
    init: (n: number) => ({ ok: n }),
    handleCall: (req: 'get' | 'inc', _from: unknown, n: number) => (req === 'get' ? { reply: n, state: n } : { reply: n + 1, state: n + 1 }),
    handleCast: (by: number, n: number) => ({ noreply: true as const, state: n + by }),
  };

  it('calls, casts and stops', async () => {
    const rt = silent();
    const started = await GenServer.start(rt, Counter, 1, { name: 'counter' });
    expect('ok' in started).toBe(true);
    expect(await GenServer.call(rt, 'counter', 'inc')).toBe(2);
    GenServer.cast(rt, 'counter', 10);
    expect(await GenServer.call(rt, 'counter', 'get')).toBe(12);
    await GenServer.stop(rt, 'counter');
    await expect(GenServer.call(rt, 'counter', 'get')).rejects.toMatchObject({ code: 'DSPEX_NOPROC' });
  });

  it('async handlers still run one message at a time', async () => {
    const rt = silent();
    let active = 0;
    let maxActive = 0;
    const started = await GenServer.start(rt, {
      init: () => ({ ok: 0 }),
      async handleCall(_req: unknown, _from: unknown, n: number) {
        active++;
        maxActive = Math.max(maxActive, active);
        await Promise.resolve();
        await new Promise((r) => setImmediate(r));
        active--;
        return { reply: n, state: n + 1 };
      },
    }, undefined);
    const pid = (started as { ok: Pid }).ok;
    const replies = await Promise.all(Array.from({ length: 20 }, () => GenServer.call<number>(rt, pid, 'x')));
    expect(replies).toEqual([...Array(20).keys()]);
    expect(maxActive).toBe(1);
  });
});
