// The wire format against the shared byte vectors (test/vectors/protocol.json, also checked by pytest), and a
// property: any JSON-like message survives encodeFrame + FrameDecoder however the bytes are split.

import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BadArguments, DEFAULT_MAX_FRAME_BYTES, FrameDecoder, ProtocolError, encodeFrame, type WorkerMessage } from '../src/index.js';

interface Vector {
  name: string;
  message: Record<string, unknown>;
  hex: string;
}
interface InvalidVector {
  name: string;
  kind: string;
  hex: string;
  max_frame_bytes?: number;
}
const vectors = JSON.parse(readFileSync(new URL('../../../test/vectors/protocol.json', import.meta.url), 'utf8')) as {
  max_frame_bytes: number;
  vectors: Vector[];
  values: { name: string; value: unknown; hex: string }[];
  invalid: InvalidVector[];
};

const TYPED: Record<string, new (items: ArrayLike<number | bigint>) => ArrayBufferView> = {
  Int8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array,
};

/** The JS value of the vectors' tagged JSON (python/tests/gen_vectors.py, VALUES). */
function revive(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(revive);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  if (entries.length === 1) {
    const [tag, body] = entries[0]! as [string, never];
    switch (tag) {
      case '$bigint':
        return BigInt(body);
      case '$float':
        return Number(body);
      case '$date':
        return new Date(body);
      case '$bytes':
        return Buffer.from(body, 'hex');
      case '$typed': {
        const [kind, items] = body as [string, (number | string)[]];
        const big = kind.startsWith('Big');
        return new TYPED[kind]!(items.map((i) => (big ? BigInt(i) : (i as number))));
      }
      case '$set':
        return new Set((body as unknown[]).map(revive));
      case '$map':
        return new Map((body as [unknown, unknown][]).map(([k, v]) => [revive(k), revive(v)]));
    }
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, revive(v)]));
}

/** Every message decoded from `chunks` pushed in order, then end(). */
function decodeAll(chunks: Buffer[], maxFrameBytes?: number): WorkerMessage[] {
  const decoder = new FrameDecoder(maxFrameBytes);
  const messages: WorkerMessage[] = [];
  for (const chunk of chunks) decoder.push(chunk, (m) => messages.push(m));
  decoder.end();
  return messages;
}

function bytewise(buffer: Buffer): Buffer[] {
  return Array.from(buffer, (byte) => Buffer.from([byte]));
}

describe('shared wire vectors', () => {
  it('has the same default frame limit as the vectors', () => {
    expect(DEFAULT_MAX_FRAME_BYTES).toBe(vectors.max_frame_bytes);
    expect(vectors.vectors.length).toBeGreaterThan(20);
    expect(vectors.invalid.length).toBeGreaterThan(5);
  });

  describe.each(vectors.vectors.map((v) => [v.name, v] as const))('%s', (_name, vector) => {
    it('encodes to exactly the vector bytes', () => {
      expect(encodeFrame(vector.message).toString('hex')).toBe(vector.hex);
    });

    it('decodes from the vector bytes, fed whole and byte by byte', () => {
      const bytes = Buffer.from(vector.hex, 'hex');
      expect(decodeAll([bytes])).toEqual([vector.message]);
      expect(decodeAll(bytewise(bytes))).toEqual([vector.message]);
    });
  });

  it('decodes all the vectors sent back to back as one stream, in order', () => {
    const stream = Buffer.concat(vectors.vectors.map((v) => Buffer.from(v.hex, 'hex')));
    expect(decodeAll([stream])).toEqual(vectors.vectors.map((v) => v.message));
  });

  describe.each(vectors.values.map((v) => [v.name, v] as const))('value %s', (_name, vector) => {
    it('encodes to exactly the vector bytes and decodes back to an equal value', () => {
      const value = revive(vector.value);
      expect(encodeFrame({ t: 'result', id: 1, value }).toString('hex')).toBe(vector.hex);
      const [decoded] = decodeAll([Buffer.from(vector.hex, 'hex')]) as unknown as { value: unknown }[];
      expect(decoded!.value).toStrictEqual(value);
      if (typeof value === 'number') expect(Object.is(decoded!.value, value)).toBe(true);
    });
  });

  describe.each(vectors.invalid.map((v) => [v.name, v] as const))('invalid: %s', (_name, vector) => {
    it(`is a ProtocolError of kind ${vector.kind}, fed whole and byte by byte`, () => {
      const bytes = Buffer.from(vector.hex, 'hex');
      for (const chunks of [[bytes], bytewise(bytes)]) {
        let error: unknown;
        try {
          decodeAll(chunks, vector.max_frame_bytes);
        } catch (caught) {
          error = caught;
        }
        expect(error).toBeInstanceOf(ProtocolError);
        expect((error as ProtocolError).kind).toBe(vector.kind);
        expect((error as ProtocolError).code).toBe('DSPEX_PROTOCOL_ERROR');
      }
    });
  });

  it('refuses an oversized frame from its length prefix alone, before its payload arrives', () => {
    const decoder = new FrameDecoder(128);
    let error: unknown;
    try {
      decoder.push(Buffer.from('00000081', 'hex'), () => undefined); // 129 bytes announced, none sent
    } catch (caught) {
      error = caught;
    }
    expect((error as ProtocolError).kind).toBe('FrameTooLarge');
    expect(decoder.pending).toBe(0);
  });

  it('checks UTF-8 in strings at any depth, after every other MessagePack type', () => {
    const wide = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i * 1000.5]));
    const message = {
      t: 'result',
      id: 1,
      value: { bin: Buffer.from([0xff, 0xfe, 0x00]), when: new Date(0), wide, list: Array.from({ length: 20 }, (_, i) => -i * 70_000), s16: 'é'.repeat(200), s32: 'ü'.repeat(40_000), deep: [[{ x: 'XX' }]] },
    };
    const frame = encodeFrame(message);
    const decoded = decodeAll([frame])[0] as unknown as { value: typeof message.value };
    expect(decoded.value.s32).toBe(message.value.s32);
    expect(decoded.value.deep).toEqual([[{ x: 'XX' }]]);
    expect([...(decoded.value.bin as Uint8Array)]).toEqual([0xff, 0xfe, 0x00]);
    // The same frame with the last string's bytes made invalid UTF-8 (0xff 0xfe in place of "XX").
    const at = frame.lastIndexOf(Buffer.from('a2' + '5858', 'hex'));
    const broken = Buffer.from(frame);
    broken.set([0xff, 0xfe], at + 1);
    let error: unknown;
    try {
      decodeAll([broken]);
    } catch (caught) {
      error = caught;
    }
    expect((error as ProtocolError).kind).toBe('Undecodable');
  });

  it('refuses to encode what the other side could not read, naming the value, and frames over the limit', () => {
    const refusal = (message: Record<string, unknown>, max?: number): string => {
      try {
        encodeFrame(message, max);
      } catch (error) {
        if (error instanceof BadArguments) return `${error.path}: ${error.problem}`;
        expect(error).toBeInstanceOf(ProtocolError);
        return (error as ProtocolError).kind;
      }
      return 'encoded';
    };
    expect(refusal({ t: 'call', args: { fn: () => 1 } })).toBe('args.fn: a function');
    expect(refusal({ t: 'call', args: { nested: [{ s: Symbol('x') }] } })).toBe('args.nested[0].s: a symbol');
    expect(refusal({ t: 'call', args: { items: [0, 1, 2, { name: 'x\uD83D' }] } })).toBe('args.items[3].name: lone surrogate U+D83D at index 1');
    expect(refusal({ t: 'call', args: { text: 'x'.repeat(200) } }, 128)).toBe('FrameTooLarge');
    expect(refusal({ t: 'call', args: { text: 'x'.repeat(100) } }, 128)).toBe('encoded');
  });
});

// JSON-like values as both ends see them: safe integers, finite doubles,
// strings with any unicode, nulls, booleans, arrays and string-keyed maps; integers up to 2^53.
const jsonValue = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.maxSafeInteger(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.array(tie('value'), { maxLength: 18 }), // past 15: array16
    fc.dictionary(fc.string({ maxLength: 12 }).filter((k) => k !== '__proto__'), tie('value'), { maxKeys: 18 }),
  ),
})).value;

const message = fc.record({ t: fc.constantFrom('result', 'chunk', 'call'), id: fc.nat(), value: jsonValue });

/** Cuts `bytes` at the given offsets (any order, duplicates allowed). */
function splitAt(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const point of points) {
    chunks.push(bytes.subarray(from, point));
    from = point;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

describe('round trip property', () => {
  it('any JSON-like messages round-trip through encodeFrame and FrameDecoder, however the stream is split', () => {
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 12 }), (messages, cuts) => {
        const stream = Buffer.concat(messages.map((m) => encodeFrame(m)));
        expect(decodeAll(splitAt(stream, cuts))).toEqual(messages);
      }),
      { numRuns: 300 },
    );
  });
});
