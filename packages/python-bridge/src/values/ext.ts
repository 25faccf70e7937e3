// The value model shared by the encoder and the decoder: MessagePack extension codes for the JS values that
// plain MessagePack cannot carry unchanged, the typed-array kinds, the Date range Python can hold, and how a
// path to a value is written in error messages. python/src/dspex_bridge/values.py mirrors every number here.

/** Extension type codes (application range). Payload formats are described in the README's value table. */
export const EXT_BIGINT = 1; // big-endian two's complement, minimal length
export const EXT_TYPED_ARRAY = 2; // one kind byte, then the elements' bytes, little-endian
export const EXT_DATE = 3; // int64 big-endian: milliseconds since 1970-01-01T00:00:00Z
export const EXT_SET = 4; // a MessagePack array of the elements
export const EXT_MAP = 5; // a MessagePack map of the entries, in insertion order

/** Typed-array constructors by kind byte. Uint8Array travels as bin (Python bytes); kind 2 only comes back. */
export const TYPED_ARRAY_KINDS = [
  undefined,
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
] as const;

export type TypedArrayConstructor = NonNullable<(typeof TYPED_ARRAY_KINDS)[number]>;

/** The kind byte of a typed-array constructor; undefined for one Python has no array for (Float16Array). */
export function typedArrayKind(constructor: unknown): number | undefined {
  const kind = TYPED_ARRAY_KINDS.indexOf(constructor as TypedArrayConstructor);
  return kind > 0 ? kind : undefined;
}

/** Python's datetime covers years 1..9999: Dates outside are refused rather than clamped. */
export const PYTHON_MIN_DATE_MS = -62_135_596_800_000; // 0001-01-01T00:00:00.000Z
export const PYTHON_MAX_DATE_MS = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

/** Containers (objects, arrays, Maps, Sets) nested below `args` (or a tool's result) at most this deep. */
export const MAX_NESTING = 100;

/** How one step of a path was taken; the step's key is kept beside it (see renderPath). */
export const enum Step {
  Key,
  Index,
  MapValue,
  MapKey,
  SetElement,
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/**
 * `args.items[3].name`, `args.m.get("k")`, `args.tags.values()[2]`: the path to a value, from the keys of the
 * steps taken to reach it (steps[1..depth]; step 0 is the message itself). Long paths keep both ends.
 */
export function renderPath(keys: readonly unknown[], steps: readonly Step[], depth: number): string {
  const parts: string[] = [];
  for (let d = 1; d <= depth; d++) {
    if (depth > 16 && d === 9) {
      parts.push(`…(${depth - 14} levels)…`);
      d = depth - 6;
    }
    const key = keys[d];
    switch (steps[d]) {
      case Step.Key:
        parts.push(typeof key === 'string' && IDENTIFIER.test(key) ? (d === 1 ? key : `.${key}`) : `[${JSON.stringify(key)}]`);
        break;
      case Step.Index:
        parts.push(`[${String(key)}]`);
        break;
      case Step.MapValue:
        parts.push(`.get(${showKey(key)})`);
        break;
      case Step.MapKey:
        parts.push(`.keys()[${String(key)}]`);
        break;
      case Step.SetElement:
        parts.push(`.values()[${String(key)}]`);
        break;
    }
  }
  return parts.join('') || '(the message)';
}

function showKey(key: unknown): string {
  if (typeof key === 'bigint') return `${key}n`;
  if (typeof key === 'string') return JSON.stringify(key);
  return String(key);
}
