// Values cross the bridge equal or are refused (the README's value table), through a real worker: fast-check
// values of every type echoed by `ping` come back equal or fail their own call with BadArguments, and never
// harm the worker or a concurrent call; Python results and tool callback results, adversarial ones included.

import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BadArguments, PythonException, type PythonPool } from '../src/index.js';
import { pythonPath, rejectionOf, useBridge } from './helpers.js';

const bridge = useBridge();
const TESTS_DIR = fileURLToPath(new URL('../../../python/tests', import.meta.url));
const python = { commands: ['bridge_test_commands'], env: { PYTHONPATH: pythonPath(TESTS_DIR) } };

// --- what "equal" means: Object.is for numbers (-0, NaN), Sets by membership, a Uint8Array back as a Buffer ---

type Typed = Exclude<ArrayBufferView, DataView>;

function same(sent: unknown, got: unknown): boolean {
  if (typeof sent === 'number') return Object.is(sent, got);
  if (typeof sent !== 'object' || sent === null) return sent === got;
  if (sent instanceof Uint8Array && (sent.constructor === Uint8Array || Buffer.isBuffer(sent))) {
    return Buffer.isBuffer(got) && Buffer.compare(Buffer.from(sent.buffer, sent.byteOffset, sent.byteLength), got) === 0;
  }
  if (ArrayBuffer.isView(sent)) {
    const a = sent as Typed & ArrayLike<number | bigint>;
    const b = got as Typed & ArrayLike<number | bigint>;
    if (b?.constructor !== a.constructor || b.length !== a.length) return false;
    for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
    return true;
  }
  if (sent instanceof Date) return got instanceof Date && got.getTime() === sent.getTime();
  if (sent instanceof Map) {
    if (!(got instanceof Map) || got.size !== sent.size) return false;
    const theirs = [...got];
    return [...sent].every(([k, v], i) => same(k, theirs[i]![0]) && same(v, theirs[i]![1]));
  }
  if (sent instanceof Set) {
    if (!(got instanceof Set) || got.size !== sent.size) return false;
    const theirs = [...got];
    return [...sent].every((x) => theirs.some((y) => same(x, y)));
  }
  if (Array.isArray(sent)) return Array.isArray(got) && got.length === sent.length && sent.every((x, i) => same(x, got[i]));
  if (typeof got !== 'object' || got === null || got.constructor !== Object) return false;
  // A property set to undefined is left out, as JSON.stringify leaves it out.
  const keys = Object.keys(sent).filter((k) => (sent as Record<string, unknown>)[k] !== undefined);
  const gotKeys = Object.keys(got);
  return keys.length === gotKeys.length && keys.every((k) => Object.hasOwn(got, k) && same((sent as Record<string, unknown>)[k], (got as Record<string, unknown>)[k]));
}

// --- arbitraries of every type of the table, adversarial ones included ---

/** A typed array, sometimes as a view at an offset into a larger buffer filled with other bytes. */
function typed<T extends Typed>(arb: fc.Arbitrary<T>): fc.Arbitrary<T> {
  return fc.tuple(arb, fc.nat(3), fc.boolean()).map(([array, offset, asView]) => {
    if (!asView) return array;
    const Ctor = array.constructor as new (buffer: ArrayBuffer, byteOffset: number, length: number) => T;
    const size = (array as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
    const length = (array as unknown as ArrayLike<unknown>).length;
    const buffer = new ArrayBuffer((length + offset + 2) * size);
    new Uint8Array(buffer).fill(0xab); // stale bytes around the view must not travel
    const view = new Ctor(buffer, offset * size, length);
    (view as unknown as { set(a: T): void }).set(array);
    return view;
  });
}

const strings = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }), // lone surrogates among them: refused
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary-ascii', maxLength: 80 }),
  fc.constantFrom('', '\0', 'a\0b', '🙂', 'half \uD83D', '\uDE42 tail', 'x'.repeat(300), 'é'.repeat(70_000)),
);
const numbers = fc.oneof(fc.integer(), fc.maxSafeInteger(), fc.double(), fc.constantFrom(-0, NaN, Infinity, -Infinity, 2 ** 53, -(2 ** 60), 2 ** 64));
const bigints = fc.oneof(fc.bigInt({ min: -(2n ** 100n), max: 2n ** 100n }), fc.constantFrom(0n, -1n, 5n, 2n ** 63n, -(2n ** 63n), 2n ** 64n));
const primitives = fc.oneof(fc.constant(null), fc.boolean(), numbers, bigints, strings);
const leaves = fc.oneof(
  primitives,
  fc.date(), // invalid ones and ones past year 9999 among them: refused
  fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }),
  fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
  fc.uint8Array({ maxLength: 40 }),
  typed(fc.int8Array({ maxLength: 12 })),
  typed(fc.uint8ClampedArray({ maxLength: 12 })),
  typed(fc.int16Array({ maxLength: 12 })),
  typed(fc.uint16Array({ maxLength: 12 })),
  typed(fc.int32Array({ maxLength: 12 })),
  typed(fc.uint32Array({ maxLength: 12 })),
  typed(fc.float32Array({ maxLength: 12 })),
  typed(fc.float64Array({ maxLength: 12 })),
  typed(fc.bigInt64Array({ maxLength: 12 })),
  typed(fc.bigUint64Array({ maxLength: 12 })),
);
const values = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaves,
    fc.array(tie('value'), { maxLength: 20 }),
    fc.dictionary(strings, fc.oneof(tie('value'), fc.constant(undefined)), { maxKeys: 18 }),
    fc.array(fc.tuple(primitives, tie('value')), { maxLength: 6 }).map((entries) => new Map(entries)),
    fc.array(primitives, { maxLength: 6 }).map((items) => new Set(items)),
  ),
})).value;

async function workerPid(pool: PythonPool): Promise<number> {
  return (await pool.call<{ pid: number }>('info')).pid;
}

describe('Node -> Python -> Node through a real worker', () => {
  it('any value of the table comes back equal from ping, or its call alone fails with BadArguments', async () => {
    const pool = await bridge.pool({ name: 'values', size: 1, python });
    const pid = await workerPid(pool);
    let equal = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(values, async (value) => {
        // A good call sent alongside: whatever happens to the first, it must succeed.
        const [echo, good] = await Promise.allSettled([pool.call<{ v: unknown }>('ping', { v: value }), pool.call<{ n: number }>('ping', { n: 1 })]);
        expect(good).toEqual({ status: 'fulfilled', value: { n: 1 } });
        if (echo.status === 'rejected') {
          expect(echo.reason).toBeInstanceOf(BadArguments);
          expect((echo.reason as BadArguments).path.startsWith('args.v')).toBe(true);
          refused++;
        } else {
          expect(same(value, echo.value.v), 'came back equal').toBe(true);
          equal++;
        }
      }),
      { numRuns: 250, verbose: 1 },
    );
    expect(equal).toBeGreaterThan(refused); // the property checked round trips, not only refusals
    expect(await workerPid(pool)).toBe(pid);
  });

  it('keeps the kinds of the table: -0, NaN, Infinity, BigInt, Date, Set, Map with any keys, typed-array views', async () => {
    const pool = await bridge.pool({ name: 'kinds', size: 1, python });
    const backing = new Float64Array([9, 1.5, -0, NaN, 9]);
    const sent = {
      negZero: -0, nan: NaN, inf: -Infinity, five: 5n, huge: -(2n ** 90n), when: new Date(Date.UTC(2024, 1, 29, 12, 0, 0, 7)),
      tags: new Set(['a', 1, 2n]), byKey: new Map<unknown, unknown>([[1, 'one'], ['1', 'string one'], [null, [true]]]),
      view: new Float64Array(backing.buffer, 8, 3), bytes: Buffer.from([0, 255]), nested: { u16: new Uint16Array([65535]) },
      omitted: undefined,
    };
    const back = (await pool.call<{ v: typeof sent }>('ping', { v: sent })).v;
    expect(same(sent, back)).toBe(true);
    expect(Object.is(back.negZero, -0)).toBe(true);
    expect(back.five).toBe(5n);
    expect(back.view).toBeInstanceOf(Float64Array);
    expect([...back.view]).toEqual([1.5, -0, NaN]);
    expect('omitted' in back).toBe(false);
  });

  it('refuses with BadArguments naming the path, before sending, and the worker serves on', async () => {
    const pool = await bridge.pool({ name: 'refusals', size: 1, python });
    const pid = await workerPid(pool);
    const deep: Record<string, unknown> = {};
    let level = deep;
    for (let i = 0; i < 1000; i++) level = (level.a = {}) as Record<string, unknown>;
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    class Point {
      x = 1;
    }
    const cases: [Record<string, unknown>, string][] = [
      [{ items: [0, 1, 2, { name: 'x\uD83D' }] }, 'args.items[3].name: lone surrogate U+D83D'],
      [{ ['k\uDC00']: 1 }, 'args["k\\udc00"]: lone surrogate U+DC00'],
      [{ deep }, 'nested more than 100 levels deep'],
      [{ cyclic }, 'nested more than 100 levels deep'],
      [{ list: [1, undefined] }, 'args.list[1]: undefined'],
      [{ list: [1, , 3] }, 'args.list[1]: a hole'],
      [{ m: new Map([[{}, 1]]) }, 'args.m.keys()[0]: a Object instance as a Map key'],
      [{ m: new Map([['k', undefined]]) }, 'args.m.get("k"): undefined'],
      [{ s: new Set([true, 1]) }, 'args.s: elements true and 1, which Python holds as one'],
      [{ when: new Date(NaN) }, 'args.when: an Invalid Date'],
      [{ when: new Date(Date.UTC(10000, 0, 1)) }, "Python's datetime holds years 1 to 9999"],
      [{ fn: () => 1 }, 'args.fn: a function'],
      [{ sym: Symbol('s') }, 'args.sym: a symbol'],
      [{ point: new Point() }, 'args.point: a Point instance'],
      [{ raw: new ArrayBuffer(4) }, 'new Uint8Array(buffer)'],
      [{ view: new DataView(new ArrayBuffer(4)) }, 'args.view: a DataView instance'],
    ];
    for (const [args, text] of cases) {
      const error = await rejectionOf(pool.call('ping', args));
      expect(error, text).toBeInstanceOf(BadArguments);
      expect((error as BadArguments).code).toBe('DSPEX_BAD_ARGUMENTS');
      expect((error as Error).message, text).toContain(text);
    }
    expect(await workerPid(pool)).toBe(pid);
  });
});

describe('Python -> Node', () => {
  it('Python values arrive as the table says: big ints as BigInt, dicts with int keys as Map, sets, datetimes, arrays', async () => {
    const pool = await bridge.pool({ name: 'results', size: 1, python });
    const got = await pool.call<Record<string, unknown>>('adversarial', { kind: 'faithful' });
    expect(got.big).toBe(2n ** 70n);
    expect(got.unsafe).toBe(2n ** 53n); // outside the safe range: always a BigInt, the documented rule
    expect(got.safe).toBe(2 ** 53 - 1);
    expect(got.negative_big).toBe(-(2n ** 64n) - 1n);
    expect(Object.is(got.neg_zero, -0)).toBe(true);
    expect(got.nan).toBeNaN();
    expect(got.inf).toBe(Infinity);
    expect(got.int_keys).toEqual(new Map([[1, 'a'], [2, 'b']]));
    expect(got.map).toEqual(new Map([['k', 1]]));
    expect(got.set).toEqual(new Set([1, 2, 3]));
    expect(got.frozen).toEqual(new Set(['x']));
    expect((got.when as Date).toISOString()).toBe('2024-02-29T12:00:00.123Z');
    expect(got.f32).toEqual(new Float32Array([1.5, -2]));
    expect(got.u8).toBeInstanceOf(Uint8Array);
    expect(Buffer.isBuffer(got.bytes) && [...(got.bytes as Buffer)]).toEqual([0, 255]);
    expect(got.tuple).toEqual([1, 'two']);
    expect(got.nul).toBe('a\0b');
  });

  it('a result Node must not receive fails only its call with Unserializable naming the path; the worker serves on', async () => {
    const pool = await bridge.pool({ name: 'bad-results', size: 1, python });
    const pid = await workerPid(pool);
    const cases: [string, string][] = [
      ['half_emoji', 'result: lone surrogate U+D83D at index 3'],
      ['nested_half_emoji', 'result.items[3].name: lone surrogate U+D83D'],
      ['microseconds', 'a JS Date holds whole milliseconds'],
      ['naive_datetime', 'a naive datetime'],
      ['too_deep', 'nested more than 500 levels deep'],
      ['object', 'result.thing: cannot send a builtins.object'],
    ];
    for (const [kind, text] of cases) {
      const [bad, good] = await Promise.allSettled([pool.call('adversarial', { kind }), pool.call('ping', { n: 1 })]);
      expect(good.status, kind).toBe('fulfilled');
      const error = bad.status === 'rejected' ? bad.reason : undefined;
      expect(error, kind).toBeInstanceOf(PythonException);
      expect((error as PythonException).pythonType, kind).toBe('Unserializable');
      expect((error as PythonException).pythonMessage, kind).toContain(text);
    }
    expect(await workerPid(pool)).toBe(pid);
  });
});

describe('tool callbacks', () => {
  it('tool results of any type reach Python equal and come back equal, or fail the Python call with the path', async () => {
    const pool = await bridge.pool({ name: 'tool-values', size: 1, python });
    const session = pool.session('tools');
    let current: unknown;
    session.registerTool('give', () => current);
    await fc.assert(
      fc.asyncProperty(values, async (value) => {
        current = value;
        const outcome = await Promise.allSettled([session.call('ask_node', { name: 'give', args: {} })]);
        const result = outcome[0]!;
        if (result.status === 'fulfilled') expect(same(value, result.value), 'came back equal').toBe(true);
        else {
          expect(result.reason).toBeInstanceOf(PythonException);
          expect((result.reason as PythonException).pythonType).toBe('CallbackError');
          expect((result.reason as PythonException).pythonMessage).toMatch(/^Unencodable: value/);
        }
      }),
      { numRuns: 100, verbose: 1 },
    );
  });

  it('a tool result ending in half an emoji fails that Python call naming it; Python callback args likewise', async () => {
    const pool = await bridge.pool({ name: 'tool-halves', size: 1, python });
    const pid = await workerPid(pool);
    const session = pool.session('halves');
    const seen: unknown[] = [];
    session.registerTool('half', () => 'ok \uD83D');
    session.registerTool('record', (args) => seen.push(args));
    const half = await rejectionOf(session.call('ask_node', { name: 'half', args: {} }));
    expect((half as PythonException).pythonType).toBe('CallbackError');
    expect((half as PythonException).pythonMessage).toContain('value: lone surrogate U+D83D at index 3');
    const args = await rejectionOf(session.call('tool_with_half_emoji', { name: 'record' }));
    expect((args as PythonException).pythonType).toBe('Unserializable');
    expect((args as PythonException).pythonMessage).toContain('args.text: lone surrogate U+D83D');
    expect(seen).toEqual([]); // refused in Python before it was sent
    expect(await workerPid(pool)).toBe(pid);
  });
});
