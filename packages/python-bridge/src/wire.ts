// The wire protocol between Node and a Python worker: 4-byte big-endian length, then one MessagePack map
// with a string "t". Frames travel on extra file descriptors, never stdout. The byte vectors in
// test/vectors/protocol.json are checked here and by pytest, so the two ends cannot drift.

import { isUtf8 } from 'node:buffer';
import { Packr } from 'msgpackr';
import { ProtocolError } from './errors.js';

export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;
const HEADER_BYTES = 4;

/** Messages Node sends to a worker. */
export type NodeMessage =
  | { t: 'call'; id: number; cmd: string; args: Record<string, unknown>; session: string | null; credits?: number }
  | { t: 'cancel'; id: number }
  | { t: 'credit'; id: number; n: number }
  | { t: 'ping'; seq: number }
  | { t: 'callback_result'; id: number; value: unknown }
  | { t: 'callback_error'; id: number; error: WireError };

/** Messages a worker sends to Node. */
export type WorkerMessage =
  | { t: 'ready'; pid: number; worker_id: string; versions: Record<string, string> }
  | { t: 'result'; id: number; value: unknown }
  | { t: 'error'; id: number; error: WireError }
  | { t: 'chunk'; id: number; seq: number; value: unknown }
  | { t: 'pong'; seq: number; busy_ms?: number }
  | { t: 'released'; id: number }
  | { t: 'callback'; id: number; session: string; name: string; args: Record<string, unknown> }
  | { t: 'fatal'; error: WireError };

export interface WireError {
  type: string;
  message: string;
  traceback?: string;
}

// Plain maps both ways (no msgpackr records), so the bytes match Python's msgpack. msgpackr would write a
// function as nil; a callback passed by mistake must fail the call instead of arriving in Python as None.
const packr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  variableMapSize: true,
  encodeUndefinedAsNil: true,
  writeFunction: () => {
    throw new TypeError('a function cannot be sent to Python (register it with session.registerTool instead)');
  },
});

/** The frame for one message: length prefix and payload. Throws ProtocolError when over `maxFrameBytes`. */
export function encodeFrame(message: NodeMessage | WorkerMessage | Record<string, unknown>, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Buffer {
  let payload: Buffer;
  try {
    payload = packr.pack(message);
  } catch (error) {
    throw new ProtocolError('Unencodable', `cannot encode the message as MessagePack: ${(error as Error).message}. Pass plain JSON-like values.`, error);
  }
  if (payload.length > maxFrameBytes) {
    throw new ProtocolError('FrameTooLarge', `a frame of ${payload.length} bytes exceeds the limit of ${maxFrameBytes}; send less data per call or raise maxFrameBytes.`);
  }
  const frame = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  payload.copy(frame, HEADER_BYTES);
  return frame;
}

/** Decodes one payload (no prefix). Anything but a map with a string "t" is a ProtocolError. */
export function decodePayload(payload: Buffer): WorkerMessage {
  checkStrings(payload);
  let message: unknown;
  try {
    message = packr.unpack(payload);
  } catch (error) {
    throw new ProtocolError('Undecodable', `cannot decode a frame payload: ${(error as Error).message}`, error);
  }
  if (message === null || typeof message !== 'object' || Array.isArray(message) || typeof (message as { t?: unknown }).t !== 'string') {
    throw new ProtocolError('BadMessage', 'a frame must hold a map with a string "t".');
  }
  return message as WorkerMessage;
}

/** Sizes of the fixed-width numbers 0xca (float32) .. 0xd3 (int64). */
const NUMBER_BYTES = Uint8Array.of(4, 8, 1, 2, 4, 8, 1, 2, 4, 8);

/** Whether `length` bytes at `start` are valid UTF-8; short ASCII runs are checked here, the rest natively. */
function utf8At(payload: Buffer, start: number, length: number): boolean {
  if (length <= 32) {
    let ascii = true;
    for (let i = start; i < start + length; i++) ascii &&= payload[i]! < 0x80;
    if (ascii) return true;
  }
  return isUtf8(payload.subarray(start, start + length));
}

/** The big-endian length of `bytes` (1, 2 or 4) bytes at `pos`; 0 when they run past the end. */
function lengthAt(payload: Buffer, pos: number, bytes: number): number {
  if (pos + bytes > payload.length) return 0;
  return bytes === 1 ? payload[pos]! : bytes === 2 ? payload.readUInt16BE(pos) : payload.readUInt32BE(pos);
}

/**
 * Throws when a MessagePack str in `payload` is not valid UTF-8. msgpackr would decode it with U+FFFD in
 * place of the bad bytes, silently changing the data; Python's msgpack refuses it, and so do we. Walks only
 * the headers; a structure that runs past the end, or a never-used byte, is left to msgpackr to report.
 */
function checkStrings(payload: Buffer): void {
  let pos = 0;
  let items = 1;
  while (items > 0 && pos < payload.length) {
    items--;
    const byte = payload[pos++]!;
    let skip = 0;
    let str = -1;
    if (byte <= 0x7f || byte >= 0xe0 || byte === 0xc0 || byte === 0xc2 || byte === 0xc3) skip = 0; // fixints, nil, bools
    else if (byte <= 0x8f) items += 2 * (byte & 0x0f); // fixmap
    else if (byte <= 0x9f) items += byte & 0x0f; // fixarray
    else if (byte <= 0xbf) str = byte & 0x1f; // fixstr
    else if (byte >= 0xc4 && byte <= 0xc6) skip = (1 << (byte - 0xc4)) + lengthAt(payload, pos, 1 << (byte - 0xc4)); // bin
    else if (byte >= 0xc7 && byte <= 0xc9) skip = (1 << (byte - 0xc7)) + 1 + lengthAt(payload, pos, 1 << (byte - 0xc7)); // ext
    else if (byte >= 0xca && byte <= 0xd3) skip = NUMBER_BYTES[byte - 0xca]!; // floats, ints
    else if (byte >= 0xd4 && byte <= 0xd8) skip = 1 + (1 << (byte - 0xd4)); // fixext
    else if (byte >= 0xd9 && byte <= 0xdb) {
      const n = 1 << (byte - 0xd9);
      str = lengthAt(payload, pos, n);
      pos += n;
    } else if (byte >= 0xdc && byte <= 0xdf) {
      const n = byte <= 0xdd ? 2 << (byte - 0xdc) : 2 << (byte - 0xde);
      items += (byte <= 0xdd ? 1 : 2) * lengthAt(payload, pos, n); // array16/32, map16/32
      skip = n;
    } else return; // 0xc1
    if (str >= 0) {
      if (pos + str > payload.length) return;
      if (!utf8At(payload, pos, str)) throw new ProtocolError('Undecodable', 'a frame holds a string that is not valid UTF-8.');
      skip = str;
    }
    pos += skip;
  }
}

/**
 * Incremental frame reader: push chunks as they arrive, get whole messages out. Keeps at most one partial
 * frame; a length prefix over the limit is a ProtocolError before any of that frame is buffered.
 */
export class FrameDecoder {
  /** The bytes of an incomplete frame, as they arrived: joined once the frame is complete, not per chunk. */
  private chunks: Buffer[] = [];
  private held = 0;
  /** Header and payload bytes of the incomplete frame, once its header is in (0 before). */
  private needed = 0;

  constructor(private readonly maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {}

  /** Bytes of an incomplete frame held back. */
  get pending(): number {
    return this.held;
  }

  push(chunk: Buffer, onMessage: (message: WorkerMessage) => void): void {
    let buffer = chunk;
    if (this.held > 0) {
      this.chunks.push(chunk);
      this.held += chunk.length;
      // A large frame arrives in many chunks: copying what we hold at each one would be quadratic.
      if (this.needed > 0 && this.held < this.needed) return;
      buffer = Buffer.concat(this.chunks, this.held);
      this.chunks = [];
      this.held = 0;
      this.needed = 0;
    }
    let offset = 0;
    while (buffer.length - offset >= HEADER_BYTES) {
      const length = buffer.readUInt32BE(offset);
      if (length > this.maxFrameBytes) throw new ProtocolError('FrameTooLarge', `the worker sent a frame of ${length} bytes, over the limit of ${this.maxFrameBytes}.`);
      if (buffer.length - offset - HEADER_BYTES < length) {
        this.needed = HEADER_BYTES + length;
        break;
      }
      const start = offset + HEADER_BYTES;
      offset = start + length;
      onMessage(decodePayload(buffer.subarray(start, offset)));
    }
    if (offset < buffer.length) {
      // Copy the tail so a large chunk is not retained for a few trailing bytes.
      this.chunks.push(Buffer.from(buffer.subarray(offset)));
      this.held = buffer.length - offset;
    }
  }

  /** The stream ended: leftover bytes mean a frame was cut off. */
  end(): void {
    if (this.held > 0) {
      const cut = this.held;
      this.chunks = [];
      this.held = 0;
      this.needed = 0;
      throw new ProtocolError('Truncated', `the worker's stream ended inside a frame (${cut} bytes left over).`);
    }
  }
}
