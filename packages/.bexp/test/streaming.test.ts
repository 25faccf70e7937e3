// Streaming calls: a Python generator's items arrive in order as an async iterator, its return value as
// `result`; Python runs at most `window` chunks ahead of the consumer; stopping early cancels it in Python.

import { describe, expect, it } from 'vitest';
import { CallCancelled, PythonException } from '../src/index.js';
import { fixturePython, rejectionOf, useBridge } from './helpers.js';

const bridge = useBridge();

interface StreamState {
  produced: number;
  credits: number;
}

describe('streams', () => {
  it('yields every chunk in order, then resolves result with the return value', async () => {
    const pool = await bridge.pool({ name: 'stream', size: 1, python: fixturePython() });
    const stream = pool.stream<number>('count_to', { n: 50 }, { window: 8 });
    const seen: number[] = [];
    for await (const value of stream) seen.push(value);
    expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(await stream.result).toBe(50);
  });

  it('delivers the chunks sent before the generator raised, then throws its PythonException', async () => {
    const pool = await bridge.pool({ name: 'streamfail', size: 1, python: fixturePython() });
    const stream = pool.stream<number>('count_then_fail', { n: 3 }, { window: 2 });
    const seen: number[] = [];
    const error = await rejectionOf(
      (async () => {
        for await (const value of stream) seen.push(value);
      })(),
    );
    expect(seen).toEqual([0, 1, 2]);
    expect(error).toBeInstanceOf(PythonException);
    expect(error).toMatchObject({ pythonType: 'ValueError', pythonMessage: 'failed after 3 chunks' });
    expect(await rejectionOf(stream.result)).toBe(error);
  });

  it('keeps Python at most `window` chunks ahead of a consumer that does not read', async () => {
    const pool = await bridge.pool({ name: 'backpressure', size: 1, python: fixturePython() });
    const window = 4;
    const stream = pool.stream<{ i: number }>('produce', { tag: 'bp', n: 40 }, { window });
    // stream_state answers once the generator produced `window` items; it runs on the same event loop, so the
    // generator is parked by then and every chunk it made arrived here before this answer.
    expect(await pool.call<StreamState>('stream_state', { tag: 'bp', produced: window })).toEqual({ produced: window, credits: 0 });
    expect(stream.buffered).toBe(window);
    // Other traffic on the same worker does not let it run further.
    await Promise.all(Array.from({ length: 5 }, (_, i) => pool.call('ping', { i })));
    expect(await pool.call<StreamState>('stream_state', { tag: 'bp', produced: 0 })).toEqual({ produced: window, credits: 0 });
    expect(stream.buffered).toBe(window);

    // Reading half the window grants that many credits back, and Python makes exactly that many more.
    const iterator = stream[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toEqual({ i: 0 });
    expect((await iterator.next()).value).toEqual({ i: 1 });
    expect(await pool.call<StreamState>('stream_state', { tag: 'bp', produced: window + 2 })).toEqual({ produced: window + 2, credits: 0 });
    expect(stream.buffered).toBe(window);

    const rest: number[] = [];
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) {
      rest.push(next.value.i);
      expect(stream.buffered).toBeLessThanOrEqual(window);
    }
    expect(rest).toEqual(Array.from({ length: 38 }, (_, i) => i + 2));
    expect(await stream.result).toBeNull();
    expect(await pool.call('wait_record', { tag: 'closed:bp' })).toEqual({ produced: 40, cancelled: false });
  });

  it('cancels the generator in Python when the consumer breaks out of for-await', async () => {
    const pool = await bridge.pool({ name: 'streambreak', size: 1, python: fixturePython() });
    const stream = pool.stream<{ i: number }>('produce', { tag: 'brk', n: 1000 }, { window: 4 });
    const seen: number[] = [];
    for await (const { i } of stream) {
      seen.push(i);
      if (i === 2) break;
    }
    expect(seen).toEqual([0, 1, 2]);
    expect(await rejectionOf(stream.result)).toBeInstanceOf(CallCancelled);
    const closed = await pool.call<{ produced: number; cancelled: boolean }>('wait_record', { tag: 'closed:brk' });
    expect(closed.cancelled).toBe(true);
    // It stopped where the credits ran out, far from the 1000 items it would have made.
    expect(closed.produced).toBeLessThanOrEqual(3 + 4);
    expect(await pool.call('ping', { after: 'break' })).toEqual({ after: 'break' });
  });
});
