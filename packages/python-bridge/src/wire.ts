// The wire protocol between Node and a Python worker: 4-byte big-endian length, then one MessagePack map
// with a string "t". Frames travel on extra file descriptors, never stdout. Values are written and read by
// values/ (the README's value table); the byte vectors in test/vectors/protocol.json are checked here and
// by pytest, so the two ends cannot drift.

import { ProtocolError } from './errors.js';
import { decodeValue } from './values/decode.js';
import { encodeMessage } from './values/encode.js';

/** Largest wire frame accepted by default (64 MiB, the pool option `python.maxFrameBytes`); a larger one is a ProtocolError. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;
const HEADER_BYTES = 4;

/** Messages Node sends to a worker. */
export type NodeMessage =
  | { t: 'call'; id: number; cmd: string; args: Record<string, unknown>; session: string | null; credits?: number; trace?: TraceCarrier }
  | { t: 'cancel'; id: number }
  | { t: 'credit'; id: number; n: number }
  | { t: 'ping'; seq: number }
  | { t: 'callback_result'; id: number; value: unknown }
  | { t: 'callback_error'; id: number; error: WireError };

/** Messages a worker sends to Node. */
export type WorkerMessage =
  | { t: 'ready'; pid: number; worker_id: string; versions: Record<string, string> }
  | { t: 'result'; id: number; value: unknown; spans?: WireSpan[] }
  | { t: 'error'; id: number; error: WireError; spans?: WireSpan[] }
  | { t: 'chunk'; id: number; seq: number; value: unknown }
  | { t: 'pong'; seq: number; busy_ms?: number }
  | { t: 'released'; id: number }
  | { t: 'callback'; id: number; session: string; name: string; args: Record<string, unknown> }
  | { t: 'fatal'; error: WireError };

/** The W3C trace context of a traced call's span, carried in its `call` frame (see tracing.ts). */
export interface TraceCarrier {
  traceparent: string;
  tracestate?: string;
}

/** A span the worker recorded for a traced call (a DSPy LM call), returned with the reply; times in epoch ns. */
export interface WireSpan {
  name: string;
  start_ns: number | bigint;
  end_ns: number | bigint;
  attributes: Record<string, string | number | boolean | string[]>;
  error?: string;
}

/** An error as it crosses the wire from Python: its type, message and traceback. */
export interface WireError {
  type: string;
  message: string;
  traceback?: string;
  /**
   * A fatal StartupError (the worker cannot start): `setting` names the pool option that is wrong
   * (`python.grant`), `entry` the value in it (a class path, a module), `module` a command module that failed;
   * `python_type` and `python_message` what Python raised, if anything did.
   */
  setting?: string;
  entry?: string;
  module?: string;
  python_type?: string;
  python_message?: string;
}

/**
 * The frame for one message: length prefix and payload. Throws BadArguments naming the path of a value that
 * Python would not receive equal (see the README's value table), and ProtocolError('FrameTooLarge') when the
 * payload is over `maxFrameBytes`. Nothing is written anywhere when it throws.
 */
export function encodeFrame(message: NodeMessage | WorkerMessage | Record<string, unknown>, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Buffer {
  return encodeMessage(message, maxFrameBytes);
}

/** Decodes one payload (no prefix). Anything but a map with a string "t" is a ProtocolError. */
export function decodePayload(payload: Buffer): WorkerMessage {
  const message = decodeValue(payload);
  if (message === null || typeof message !== 'object' || message.constructor !== Object || typeof (message as { t?: unknown }).t !== 'string') {
    throw new ProtocolError('BadMessage', 'a frame must hold a map with a string "t".');
  }
  return message as WorkerMessage;
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
