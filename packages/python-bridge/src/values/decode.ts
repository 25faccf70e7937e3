// Python -> Node: decodes one MessagePack payload into JS values by the value table (README). Strings must
// be valid UTF-8, a map with a non-string key becomes a Map, an int outside the safe range a BigInt, and
// anything malformed (truncated, trailing bytes, 0xc1, an unknown extension) is a ProtocolError.

import { isUtf8 } from 'node:buffer';
import { ProtocolError } from '../errors.js';
import { EXT_BIGINT, EXT_DATE, EXT_MAP, EXT_SET, EXT_TYPED_ARRAY, TYPED_ARRAY_KINDS } from './ext.js';

/** Deeper than Python's msgpack can write (511); guards the stack against a hostile peer. */
const MAX_DECODE_DEPTH = 1000;
const TWO_32 = 0x1_0000_0000;

type FastSlices = { utf8Slice(start: number, end: number): string };

let src: Buffer = Buffer.alloc(0);
let pos = 0;
let end = 0;

function undecodable(problem: string): ProtocolError {
  return new ProtocolError('Undecodable', `cannot decode a frame payload: ${problem}.`);
}

function need(bytes: number): void {
  if (pos + bytes > end) throw undecodable('a value runs past the end of the frame');
}

/** Exactly one value in `payload`; anything left over is an error. */
export function decodeValue(payload: Buffer): unknown {
  if (payload.length === 0) throw undecodable('the payload is empty');
  src = payload;
  pos = 0;
  end = payload.length;
  try {
    const value = read(0);
    if (pos !== end) throw undecodable(`${end - pos} bytes follow the value`);
    return value;
  } finally {
    src = EMPTY; // do not keep the last frame alive
  }
}
const EMPTY = Buffer.alloc(0);

function read(depth: number): unknown {
  need(1);
  const b = src[pos++]!;
  if (b < 0x80) return b;
  if (b < 0x90) return map(b & 0x0f, depth, false);
  if (b < 0xa0) return array(b & 0x0f, depth);
  if (b < 0xc0) return string(b & 0x1f);
  if (b >= 0xe0) return b - 0x100;
  switch (b) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xc4:
      return bytes(uint(1));
    case 0xc5:
      return bytes(uint(2));
    case 0xc6:
      return bytes(uint(4));
    case 0xc7:
      return ext(uint(1), depth);
    case 0xc8:
      return ext(uint(2), depth);
    case 0xc9:
      return ext(uint(4), depth);
    case 0xca: {
      need(4);
      const value = src.readFloatBE(pos);
      pos += 4;
      return value;
    }
    case 0xcb: {
      need(8);
      const value = src.readDoubleBE(pos);
      pos += 8;
      return value;
    }
    case 0xcc:
      return uint(1);
    case 0xcd:
      return uint(2);
    case 0xce:
      return uint(4);
    case 0xcf:
      return int64(false);
    case 0xd0: {
      need(1);
      return src.readInt8(pos++);
    }
    case 0xd1: {
      need(2);
      const value = src.readInt16BE(pos);
      pos += 2;
      return value;
    }
    case 0xd2: {
      need(4);
      const value = src.readInt32BE(pos);
      pos += 4;
      return value;
    }
    case 0xd3:
      return int64(true);
    case 0xd4:
      return ext(1, depth);
    case 0xd5:
      return ext(2, depth);
    case 0xd6:
      return ext(4, depth);
    case 0xd7:
      return ext(8, depth);
    case 0xd8:
      return ext(16, depth);
    case 0xd9:
      return string(uint(1));
    case 0xda:
      return string(uint(2));
    case 0xdb:
      return string(uint(4));
    case 0xdc:
      return array(uint(2), depth);
    case 0xdd:
      return array(uint(4), depth);
    case 0xde:
      return map(uint(2), depth, false);
    case 0xdf:
      return map(uint(4), depth, false);
    default:
      throw undecodable(`0x${b.toString(16)} is not a MessagePack type`);
  }
}

function uint(size: 1 | 2 | 4): number {
  need(size);
  const value = size === 1 ? src[pos]! : size === 2 ? src.readUInt16BE(pos) : src.readUInt32BE(pos);
  pos += size;
  return value;
}

/** A 64-bit int: a number inside the safe range, a BigInt outside it (the documented rule). */
function int64(signed: boolean): number | bigint {
  need(8);
  const high = signed ? src.readInt32BE(pos) : src.readUInt32BE(pos);
  const value = high * TWO_32 + src.readUInt32BE(pos + 4);
  const exact = Number.isSafeInteger(value) ? value : signed ? src.readBigInt64BE(pos) : src.readBigUInt64BE(pos);
  pos += 8;
  return exact;
}

function string(length: number): string {
  need(length);
  const start = pos;
  pos += length;
  // Keys and short values: built in JS, cheaper than a call into native code for "t" or "result".
  if (length <= 16) {
    const head = shortAscii(start, length <= 8 ? length : 8);
    if (head !== null) {
      if (length <= 8) return head;
      const tail = shortAscii(start + 8, length - 8);
      if (tail !== null) return head + tail;
    }
  }
  // Invalid UTF-8 would otherwise decode with U+FFFD in place of the bad bytes, silently changing the data.
  if (!isUtf8(src.subarray(start, pos))) throw new ProtocolError('Undecodable', 'a frame holds a string that is not valid UTF-8.');
  return (src as unknown as FastSlices).utf8Slice(start, pos);
}

const fromCharCode = String.fromCharCode;

/** Up to 8 bytes as a string when all are ASCII; null otherwise. */
function shortAscii(start: number, length: number): string | null {
  const b = src;
  let bits = 0;
  for (let i = start; i < start + length; i++) bits |= b[i]!;
  if (bits >= 0x80) return null;
  switch (length) {
    case 0:
      return '';
    case 1:
      return fromCharCode(b[start]!);
    case 2:
      return fromCharCode(b[start]!, b[start + 1]!);
    case 3:
      return fromCharCode(b[start]!, b[start + 1]!, b[start + 2]!);
    case 4:
      return fromCharCode(b[start]!, b[start + 1]!, b[start + 2]!, b[start + 3]!);
    case 5:
      return fromCharCode(b[start]!, b[start + 1]!, b[start + 2]!, b[start + 3]!, b[start + 4]!);
    case 6:
      return fromCharCode(b[start]!, b[start + 1]!, b[start + 2]!, b[start + 3]!, b[start + 4]!, b[start + 5]!);
    case 7:
      return fromCharCode(b[start]!, b[start + 1]!, b[start + 2]!, b[start + 3]!, b[start + 4]!, b[start + 5]!, b[start + 6]!);
    default:
      return fromCharCode(b[start]!, b[start + 1]!, b[start + 2]!, b[start + 3]!, b[start + 4]!, b[start + 5]!, b[start + 6]!, b[start + 7]!);
  }
}

function bytes(length: number): Buffer {
  need(length);
  const copy = Buffer.allocUnsafe(length);
  src.copy(copy, 0, pos, pos + length);
  pos += length;
  return copy;
}

function array(length: number, depth: number): unknown[] {
  if (depth >= MAX_DECODE_DEPTH) throw undecodable(`nesting deeper than ${MAX_DECODE_DEPTH}`);
  need(length); // at least a byte per element: a bogus length fails before allocating
  const out = new Array<unknown>(length);
  for (let i = 0; i < length; i++) out[i] = read(depth + 1);
  return out;
}

/** A map with string keys only is a plain object; one with any other key, or `asMap`, is a Map. */
function map(count: number, depth: number, asMap: boolean): Record<string, unknown> | Map<unknown, unknown> {
  if (depth >= MAX_DECODE_DEPTH) throw undecodable(`nesting deeper than ${MAX_DECODE_DEPTH}`);
  need(count * 2);
  let object: Record<string, unknown> | undefined = asMap ? undefined : {};
  let entries: Map<unknown, unknown> | undefined = asMap ? new Map() : undefined;
  for (let i = 0; i < count; i++) {
    const key = read(depth + 1);
    const value = read(depth + 1);
    if (object !== undefined && typeof key === 'string') {
      if (key === '__proto__') Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
      else object[key] = value;
    } else {
      if (entries === undefined) {
        entries = new Map(Object.entries(object!));
        object = undefined;
      }
      entries.set(key, value);
    }
  }
  return object ?? entries!;
}

function ext(length: number, depth: number): unknown {
  need(length + 1);
  const type = src.readInt8(pos++);
  const start = pos;
  const stop = pos + length;
  switch (type) {
    case EXT_BIGINT: {
      if (length === 0) throw undecodable('an empty bigint');
      let value = BigInt(`0x${src.toString('hex', start, stop)}`);
      if (src[start]! & 0x80) value -= 1n << BigInt(length * 8);
      pos = stop;
      return value;
    }
    case EXT_TYPED_ARRAY: {
      const Kind = length > 0 ? TYPED_ARRAY_KINDS[src[start]!] : undefined;
      if (Kind === undefined || (length - 1) % Kind.BYTES_PER_ELEMENT !== 0) throw undecodable('a malformed typed array');
      const array = new Kind((length - 1) / Kind.BYTES_PER_ELEMENT);
      new Uint8Array(array.buffer).set(src.subarray(start + 1, stop));
      pos = stop;
      return array;
    }
    case EXT_DATE: {
      if (length !== 8) throw undecodable('a malformed date');
      const ms = src.readInt32BE(start) * TWO_32 + src.readUInt32BE(start + 4);
      pos = stop;
      return new Date(ms);
    }
    case EXT_SET:
    case EXT_MAP: {
      const outer = end;
      end = stop;
      try {
        need(1);
        const head = src[pos]!;
        let value: unknown;
        if (type === EXT_SET) {
          const items = read(depth);
          if (!Array.isArray(items)) throw undecodable('a malformed Set');
          value = new Set(items);
        } else {
          pos++;
          const count = head >= 0x80 && head <= 0x8f ? head & 0x0f : head === 0xde ? uint(2) : head === 0xdf ? uint(4) : -1;
          if (count < 0) throw undecodable('a malformed Map');
          value = map(count, depth, true);
        }
        if (!(value instanceof Set || value instanceof Map) || pos !== stop) throw undecodable('a malformed Set or Map');
        return value;
      } finally {
        end = outer;
      }
    }
    default:
      throw undecodable(`unknown extension type ${type}`);
  }
}
