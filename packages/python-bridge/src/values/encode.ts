// Node -> Python: one pass over a message that validates and writes MessagePack at once. A value Python
// would not receive equal (a lone surrogate, a function, a class instance, undefined in an array, nesting
// past MAX_NESTING) is refused with BadArguments naming its path; nothing is sent. The common case (small
// plain objects) allocates nothing but the frame itself.

import { BadArguments, ProtocolError } from '../errors.js';
import {
  EXT_BIGINT,
  EXT_DATE,
  EXT_MAP,
  EXT_SET,
  EXT_TYPED_ARRAY,
  MAX_NESTING,
  PYTHON_MAX_DATE_MS,
  PYTHON_MIN_DATE_MS,
  Step,
  renderPath,
  typedArrayKind,
} from './ext.js';

const HEADER_BYTES = 4;
const INITIAL_BYTES = 16 * 1024;
/** A buffer grown past this by one large message is dropped afterwards, not kept for every later one. */
const KEEP_BYTES = 1024 * 1024;
/** Depth counts the message itself (0) and `args` (1): user containers may reach MAX_NESTING below that. */
const MAX_DEPTH = MAX_NESTING + 1;
const TWO_32 = 0x1_0000_0000;

/** String.prototype.isWellFormed is ES2024 (Node 20 has it; the lib here is ES2023). */
type WellFormed = { isWellFormed(): boolean };

class ValueEncoder {
  buf: Buffer = Buffer.allocUnsafeSlow(INITIAL_BYTES);
  pos = 0;
  limit = 0;
  busy = false;
  /** keys[d] and steps[d]: how the value at depth d was reached; read only to write an error's path. */
  private readonly keys: unknown[] = new Array<unknown>(MAX_DEPTH + 2).fill(undefined);
  private readonly steps: Step[] = new Array<Step>(MAX_DEPTH + 2).fill(Step.Key);

  frame(message: object, maxFrameBytes: number): Buffer {
    this.busy = true;
    try {
      this.pos = HEADER_BYTES;
      this.limit = HEADER_BYTES + maxFrameBytes;
      this.value(message, 0);
      const length = this.pos - HEADER_BYTES;
      if (length > maxFrameBytes) throw tooLarge(maxFrameBytes, length);
      this.buf.writeUInt32BE(length, 0);
      const frame = Buffer.allocUnsafe(this.pos);
      this.buf.copy(frame, 0, 0, this.pos);
      return frame;
    } finally {
      this.busy = false;
      if (this.buf.length > KEEP_BYTES) this.buf = Buffer.allocUnsafeSlow(INITIAL_BYTES);
    }
  }

  private room(bytes: number): void {
    if (this.pos + bytes > this.buf.length) this.grow(bytes);
  }

  private grow(bytes: number): void {
    if (this.pos > this.limit) throw tooLarge(this.limit - HEADER_BYTES);
    const next = Buffer.allocUnsafeSlow(Math.max(this.pos + bytes, this.buf.length * 2));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Refuses outright a run of `bytes` that cannot fit the frame, before room is made for it. */
  private fits(bytes: number): void {
    if (this.pos + bytes > this.limit) throw tooLarge(this.limit - HEADER_BYTES);
  }

  private refuse(depth: number, problem: string, hint: string): BadArguments {
    return new BadArguments(renderPath(this.keys, this.steps, depth), problem, hint);
  }

  private value(value: unknown, depth: number): void {
    switch (typeof value) {
      case 'string':
        return this.string(value, depth);
      case 'number':
        return this.number(value);
      case 'boolean':
        this.room(1);
        this.buf[this.pos++] = value ? 0xc3 : 0xc2;
        return;
      case 'object':
        if (value === null) {
          this.room(1);
          this.buf[this.pos++] = 0xc0;
          return;
        }
        return this.object(value, depth);
      case 'bigint':
        return this.bigint(value);
      case 'undefined':
        throw this.refuse(depth, 'undefined', 'Python has no undefined: use null (a property set to undefined is left out)');
      case 'function':
        throw this.refuse(depth, 'a function', 'a function cannot be sent to Python (register it with session.registerTool instead)');
      default:
        throw this.refuse(depth, `a ${typeof value}`, 'a symbol has no Python equivalent: send a string');
    }
  }

  private string(text: string, depth: number): void {
    const length = text.length;
    if (length < 32) {
      this.room(2 + length * 3);
      const buf = this.buf;
      const start = this.pos;
      let p = start + 1; // a fixstr header; moved below if the bytes need a str8 one
      for (let i = 0; i < length; i++) {
        const c = text.charCodeAt(i);
        if (c < 0x80) buf[p++] = c;
        else if (c < 0x800) {
          buf[p++] = 0xc0 | (c >> 6);
          buf[p++] = 0x80 | (c & 0x3f);
        } else if ((c & 0xf800) === 0xd800) {
          const low = text.charCodeAt(i + 1);
          if (c > 0xdbff || (low & 0xfc00) !== 0xdc00) throw this.loneSurrogate(text, depth);
          const point = 0x10000 + ((c & 0x3ff) << 10) + (low & 0x3ff);
          buf[p++] = 0xf0 | (point >> 18);
          buf[p++] = 0x80 | ((point >> 12) & 0x3f);
          buf[p++] = 0x80 | ((point >> 6) & 0x3f);
          buf[p++] = 0x80 | (point & 0x3f);
          i++;
        } else {
          buf[p++] = 0xe0 | (c >> 12);
          buf[p++] = 0x80 | ((c >> 6) & 0x3f);
          buf[p++] = 0x80 | (c & 0x3f);
        }
      }
      const bytes = p - start - 1;
      if (bytes < 32) buf[start] = 0xa0 | bytes;
      else {
        buf.copyWithin(start + 2, start + 1, p);
        buf[start] = 0xd9;
        buf[start + 1] = bytes;
        p++;
      }
      this.pos = p;
      return;
    }
    if (!(text as unknown as WellFormed).isWellFormed()) throw this.loneSurrogate(text, depth);
    this.fits(length);
    const most = length < 0x10000 ? length * 3 : Buffer.byteLength(text, 'utf8');
    const header = most < 0x100 ? 2 : most < 0x10000 ? 3 : 5;
    if (length >= 0x10000) this.fits(header + most); // exact there; below, `most` may overestimate threefold
    this.room(header + most);
    const start = this.pos;
    const bytes = this.buf.write(text, start + header, 'utf8');
    const needed = bytes < 0x20 ? 1 : bytes < 0x100 ? 2 : bytes < 0x10000 ? 3 : 5;
    if (needed < header) this.buf.copyWithin(start + needed, start + header, start + header + bytes);
    const buf = this.buf;
    if (needed === 1) buf[start] = 0xa0 | bytes;
    else if (needed === 2) {
      buf[start] = 0xd9;
      buf[start + 1] = bytes;
    } else if (needed === 3) {
      buf[start] = 0xda;
      buf.writeUInt16BE(bytes, start + 1);
    } else {
      buf[start] = 0xdb;
      buf.writeUInt32BE(bytes, start + 1);
    }
    this.pos = start + needed + bytes;
  }

  private loneSurrogate(text: string, depth: number): BadArguments {
    let at = 0;
    for (; at < text.length; at++) {
      const c = text.charCodeAt(at);
      if (c < 0xd800 || c > 0xdfff) continue;
      if (c <= 0xdbff && (text.charCodeAt(at + 1) & 0xfc00) === 0xdc00) at++;
      else break;
    }
    const code = text.charCodeAt(at).toString(16).toUpperCase();
    return this.refuse(depth, `lone surrogate U+${code} at index ${at}`, 'Python strings are Unicode text: fix the string, or replace lone surrogates with text.toWellFormed()');
  }

  private number(n: number): void {
    this.room(9);
    const buf = this.buf;
    if (Number.isSafeInteger(n) && (n !== 0 || 1 / n > 0)) {
      if (n >= 0) {
        if (n < 0x80) buf[this.pos++] = n;
        else if (n < 0x100) {
          buf[this.pos++] = 0xcc;
          buf[this.pos++] = n;
        } else if (n < 0x10000) {
          buf[this.pos++] = 0xcd;
          buf.writeUInt16BE(n, this.pos);
          this.pos += 2;
        } else if (n < TWO_32) {
          buf[this.pos++] = 0xce;
          buf.writeUInt32BE(n, this.pos);
          this.pos += 4;
        } else {
          buf[this.pos++] = 0xcf;
          this.int64(n);
        }
      } else if (n >= -0x20) buf[this.pos++] = 0x100 + n;
      else if (n >= -0x80) {
        buf[this.pos++] = 0xd0;
        buf[this.pos++] = 0x100 + n;
      } else if (n >= -0x8000) {
        buf[this.pos++] = 0xd1;
        buf.writeInt16BE(n, this.pos);
        this.pos += 2;
      } else if (n >= -0x8000_0000) {
        buf[this.pos++] = 0xd2;
        buf.writeInt32BE(n, this.pos);
        this.pos += 4;
      } else {
        buf[this.pos++] = 0xd3;
        this.int64(n);
      }
      return;
    }
    // -0, NaN, the infinities, fractions and integers past 2^53 are float64, as Python's floats are.
    buf[this.pos++] = 0xcb;
    buf.writeDoubleBE(n, this.pos);
    this.pos += 8;
  }

  /** Eight big-endian bytes of a safe integer (two's complement when negative). */
  private int64(n: number): void {
    const high = Math.floor(n / TWO_32);
    this.buf.writeInt32BE(high, this.pos);
    this.buf.writeUInt32BE(n - high * TWO_32, this.pos + 4);
    this.pos += 8;
  }

  private bigint(n: bigint): void {
    if (n >= -128n && n <= 127n) {
      this.room(3);
      this.extHeader(EXT_BIGINT, 1);
      this.buf[this.pos++] = Number(n) & 0xff;
      return;
    }
    const magnitude = (n < 0n ? -n - 1n : n).toString(16);
    const bits = (magnitude.length - 1) * 4 + (32 - Math.clz32(parseInt(magnitude[0]!, 16)));
    const bytes = Math.floor(bits / 8) + 1; // room for the sign bit
    const unsigned = n < 0n ? n + (1n << BigInt(bytes * 8)) : n;
    this.fits(bytes + 6);
    this.room(bytes + 6);
    this.extHeader(EXT_BIGINT, bytes);
    this.pos += this.buf.write(unsigned.toString(16).padStart(bytes * 2, '0'), this.pos, 'hex');
  }

  private object(value: object, depth: number): void {
    if (depth > MAX_DEPTH) {
      throw this.refuse(depth, `nested more than ${MAX_NESTING} levels deep`, 'is the value cyclic? Send a flatter value, or keep the object in Python and pass its handle');
    }
    const constructor = value.constructor;
    if (constructor === Object) return this.plain(value as Record<string, unknown>, depth);
    if (constructor === Array) return this.array(value as unknown[], depth);
    if (constructor === Buffer || constructor === Uint8Array) return this.bytes(value as Uint8Array);
    if (constructor === Map) return this.map(value as Map<unknown, unknown>, depth);
    if (constructor === Set) return this.set(value as Set<unknown>, depth);
    if (constructor === Date) return this.date(value as Date, depth);
    if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
      const kind = typedArrayKind(constructor);
      if (kind !== undefined) return this.typedArray(value as Uint8Array, kind);
    }
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null) return this.plain(value as Record<string, unknown>, depth);
    if (proto === Array.prototype) return this.array(value as unknown[], depth);
    throw this.refuse(depth, `a ${describe(value)}`, hintFor(value));
  }

  /** A plain object as a map. Properties set to undefined are left out, as JSON.stringify leaves them. */
  private plain(object: Record<string, unknown>, depth: number): void {
    this.room(1);
    const head = this.pos++;
    const d = depth + 1;
    let count = 0;
    for (const key in object) {
      if (!Object.hasOwn(object, key)) continue;
      const item = object[key];
      if (item === undefined) continue;
      this.keys[d] = key;
      this.steps[d] = Step.Key;
      this.string(key, d);
      this.value(item, d);
      count++;
    }
    this.fixMapHeader(head, count);
  }

  /** Rewrites the one-byte map header reserved at `head` now that the entry count is known. */
  private fixMapHeader(head: number, count: number): void {
    if (count < 16) {
      this.buf[head] = 0x80 | count;
      return;
    }
    const extra = count < 0x10000 ? 2 : 4;
    this.room(extra);
    this.buf.copyWithin(head + 1 + extra, head + 1, this.pos);
    this.pos += extra;
    if (extra === 2) {
      this.buf[head] = 0xde;
      this.buf.writeUInt16BE(count, head + 1);
    } else {
      this.buf[head] = 0xdf;
      this.buf.writeUInt32BE(count, head + 1);
    }
  }

  private arrayHeader(length: number): void {
    this.room(5);
    if (length < 16) this.buf[this.pos++] = 0x90 | length;
    else if (length < 0x10000) {
      this.buf[this.pos++] = 0xdc;
      this.buf.writeUInt16BE(length, this.pos);
      this.pos += 2;
    } else {
      this.buf[this.pos++] = 0xdd;
      this.buf.writeUInt32BE(length, this.pos);
      this.pos += 4;
    }
  }

  private array(array: unknown[], depth: number): void {
    const length = array.length;
    this.arrayHeader(length);
    const d = depth + 1;
    for (let i = 0; i < length; i++) {
      const item = array[i];
      this.keys[d] = i;
      this.steps[d] = Step.Index;
      if (item === undefined) {
        const what = i in array ? 'undefined' : 'a hole (a sparse array)';
        throw this.refuse(d, what, 'an array element must be a value: use null');
      }
      this.value(item, d);
    }
  }

  private bytes(bytes: Uint8Array): void {
    const length = bytes.length;
    this.fits(length + 5);
    this.room(length + 5);
    if (length < 0x100) {
      this.buf[this.pos++] = 0xc4;
      this.buf[this.pos++] = length;
    } else if (length < 0x10000) {
      this.buf[this.pos++] = 0xc5;
      this.buf.writeUInt16BE(length, this.pos);
      this.pos += 2;
    } else {
      this.buf[this.pos++] = 0xc6;
      this.buf.writeUInt32BE(length, this.pos);
      this.pos += 4;
    }
    this.buf.set(bytes, this.pos);
    this.pos += length;
  }

  /** The elements' own bytes (a view into a larger buffer sends only its window), little-endian. */
  private typedArray(array: Uint8Array, kind: number): void {
    const length = array.byteLength + 1;
    this.fits(length + 6);
    this.room(length + 6);
    this.extHeader(EXT_TYPED_ARRAY, length);
    this.buf[this.pos++] = kind;
    this.buf.set(new Uint8Array(array.buffer, array.byteOffset, array.byteLength), this.pos);
    this.pos += array.byteLength;
  }

  private date(date: Date, depth: number): void {
    const ms = date.getTime();
    if (Number.isNaN(ms)) throw this.refuse(depth, 'an Invalid Date', 'send a valid Date, or null');
    if (ms < PYTHON_MIN_DATE_MS || ms > PYTHON_MAX_DATE_MS) {
      throw this.refuse(depth, `the Date ${date.toISOString()}`, "Python's datetime holds years 1 to 9999 only");
    }
    this.room(10);
    this.extHeader(EXT_DATE, 8);
    this.int64(ms);
  }

  private map(map: Map<unknown, unknown>, depth: number): void {
    const start = this.beginExt();
    this.room(5);
    const head = this.pos;
    this.buf[this.pos++] = 0x80; // rewritten by fixMapHeader
    const d = depth + 1;
    let index = 0;
    let mix = 0;
    for (const [key, item] of map) {
      this.keys[d] = index;
      this.steps[d] = Step.MapKey;
      mix |= this.key(key, d);
      this.keys[d] = key;
      this.steps[d] = Step.MapValue;
      if (item === undefined) throw this.refuse(d, 'undefined', 'a Map value must be a value: use null, or delete the entry');
      this.value(item, d);
      index++;
    }
    this.fixMapHeader(head, index);
    if (mix & (mix - 1)) this.refuseCollision(map.keys(), depth, 'keys');
    this.endExt(start, EXT_MAP);
  }

  private set(set: Set<unknown>, depth: number): void {
    const start = this.beginExt();
    this.arrayHeader(set.size);
    const d = depth + 1;
    let index = 0;
    let mix = 0;
    for (const item of set) {
      this.keys[d] = index++;
      this.steps[d] = Step.SetElement;
      mix |= this.key(item, d);
    }
    if (mix & (mix - 1)) this.refuseCollision(set.values(), depth, 'elements');
    this.endExt(start, EXT_SET);
  }

  /**
   * A Map key or Set element: Python needs it hashable, so only primitives pass. Returns a bit for the
   * number-like type it was (1 boolean, 2 number, 4 bigint): Python's True == 1 == 1.0, so two types mixed
   * in one Map or Set are checked for entries Python would merge.
   */
  private key(key: unknown, depth: number): number {
    switch (typeof key) {
      case 'string':
        this.string(key, depth);
        return 0;
      case 'number':
        this.number(key);
        return 2;
      case 'bigint':
        this.bigint(key);
        return 4;
      case 'boolean':
        this.value(key, depth);
        return 1;
      default:
        if (key === null) {
          this.value(null, depth);
          return 0;
        }
        throw this.refuse(depth, `a ${key === undefined ? 'undefined' : describe(key)} as a Map key or Set element`, 'Python needs keys and set elements hashable: use strings, numbers, bigints, booleans or null');
    }
  }

  private refuseCollision(values: Iterator<unknown>, depth: number, what: string): void {
    const seen = new Map<string, unknown>();
    for (let next = values.next(); !next.done; next = values.next()) {
      const value = next.value;
      let norm: string | undefined;
      if (typeof value === 'boolean') norm = value ? '1' : '0';
      else if (typeof value === 'bigint') norm = value.toString();
      else if (typeof value === 'number') norm = Number.isInteger(value) ? BigInt(value).toString() : `f${value}`;
      if (norm === undefined) continue;
      const earlier = seen.get(norm);
      if (seen.has(norm)) {
        throw this.refuse(depth, `${what} ${show(earlier)} and ${show(value)}, which Python holds as one`, 'in Python True == 1 == 1.0: use one type for these');
      }
      seen.set(norm, value);
    }
  }

  private extHeader(type: number, length: number): void {
    const buf = this.buf;
    switch (length) {
      case 1:
        buf[this.pos++] = 0xd4;
        break;
      case 2:
        buf[this.pos++] = 0xd5;
        break;
      case 4:
        buf[this.pos++] = 0xd6;
        break;
      case 8:
        buf[this.pos++] = 0xd7;
        break;
      case 16:
        buf[this.pos++] = 0xd8;
        break;
      default:
        if (length < 0x100) {
          buf[this.pos++] = 0xc7;
          buf[this.pos++] = length;
        } else if (length < 0x10000) {
          buf[this.pos++] = 0xc8;
          buf.writeUInt16BE(length, this.pos);
          this.pos += 2;
        } else {
          buf[this.pos++] = 0xc9;
          buf.writeUInt32BE(length, this.pos);
          this.pos += 4;
        }
    }
    buf[this.pos++] = type;
  }

  /** Reserves the largest ext header; endExt moves the payload back over what the real one leaves free. */
  private beginExt(): number {
    this.room(6);
    const start = this.pos;
    this.pos += 6;
    return start;
  }

  private endExt(start: number, type: number): void {
    const length = this.pos - start - 6;
    const header = length === 1 || length === 2 || length === 4 || length === 8 || length === 16 ? 2 : length < 0x100 ? 3 : length < 0x10000 ? 4 : 6;
    if (header < 6) this.buf.copyWithin(start + header, start + 6, this.pos);
    const end = this.pos - (6 - header);
    this.pos = start;
    this.extHeader(type, length);
    this.pos = end;
  }
}

function tooLarge(maxFrameBytes: number, length?: number): ProtocolError {
  const size = length === undefined ? `over ${maxFrameBytes} bytes` : `${length} bytes`;
  return new ProtocolError('FrameTooLarge', `a frame of ${size} exceeds the limit of ${maxFrameBytes}; send less data per call or raise maxFrameBytes.`);
}

function describe(value: object): string {
  const constructor = (value as { constructor?: { name?: unknown } }).constructor;
  const name = typeof constructor?.name === 'string' && constructor.name !== '' ? constructor.name : 'object';
  return `${name} instance`;
}

function hintFor(value: object): string {
  if (value instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && value instanceof SharedArrayBuffer)) {
    return 'wrap it to send its bytes: new Uint8Array(buffer)';
  }
  if (value instanceof DataView) return 'send its bytes: new Uint8Array(view.buffer, view.byteOffset, view.byteLength)';
  if (ArrayBuffer.isView(value)) return 'Python has no array of this element type: convert it to a Float32Array or Float64Array';
  if (value instanceof Promise) return 'await it and send its value';
  return 'class instances are not sent: pass a plain object with the fields Python needs ({ ...value }), or a handle';
}

function show(value: unknown): string {
  return typeof value === 'bigint' ? `${value}n` : String(value);
}

const shared = new ValueEncoder();

/**
 * The frame (4-byte big-endian length, then the MessagePack payload) for one message. Throws BadArguments
 * naming the path of a value Python would not receive equal, and ProtocolError('FrameTooLarge') past the limit.
 */
export function encodeMessage(message: object, maxFrameBytes: number): Buffer {
  // A getter run while encoding may itself encode: it gets an encoder of its own.
  return (shared.busy ? new ValueEncoder() : shared).frame(message, maxFrameBytes);
}
