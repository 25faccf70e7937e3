// One HTTP attempt for the LM clients: POST JSON over the keep-alive transport (transport.ts), a per-attempt
// timeout on the client's clock, the caller's AbortSignal, and the mapping of every failure to a typed,
// redacted LMError. Retry-After (seconds or HTTP date, and OpenAI's retry-after-ms) is parsed here for the retry loop.

import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { sleep, type Clock } from './clock.js';
import { LMAborted, LMAuthError, LMBadResponse, LMContextWindowExceeded, LMError, LMHttpError, LMNetworkError, LMRateLimited, LMTimeout, isContextOverflowBody, type Redactor } from './errors.js';
import { sseEvents, type SseEvent } from './sse.js';
import { Exchange } from './transport.js';

export interface HttpAttempt {
  provider: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
  timeoutMs: number;
  clock: Clock;
  redactor: Redactor;
  signal?: AbortSignal;
}

// Node's http sends no User-Agent of its own; some gateways refuse a request without one (fetch sent `node`).
const USER_AGENT = 'dspex';

/** A 2xx response whose body is still to be read, once, as JSON or as SSE events. */
export interface HttpReply {
  /** The body parsed as JSON (LMBadResponse when it is not); the attempt is over once it settles. */
  json(): Promise<unknown>;
  /** The body as server-sent events. The caller calls close() when it stops reading, early or not. */
  events(): AsyncGenerator<SseEvent>;
  /** Whether the body is one JSON document (Content-Type application/json): a server that ignored `stream: true`. */
  readonly isJson: boolean;
  /** Clears the timeout and the abort listener, and drops the connection if the body was not read to its end. */
  close(): void;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Retry-After in ms from now: `retry-after-ms`, then `retry-after` as seconds or an HTTP date. */
export function parseRetryAfter(headers: IncomingHttpHeaders, now: number): number | undefined {
  const ms = header(headers, 'retry-after-ms');
  if (ms !== undefined && ms.trim() !== '' && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const value = header(headers, 'retry-after');
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Math.max(0, Math.round(Number(value) * 1000));
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The error for a non-2xx status; the body is redacted before it reaches the message. */
export function errorForStatus(provider: string, status: number, bodyText: string, retryAfterMs: number | undefined, redactor: Redactor): LMError {
  const body = redactor.text(bodyText);
  if (status === 401 || status === 403) {
    return new LMAuthError(provider, status, `${body.slice(0, 200) || 'no detail'} - check the API key in the environment (apiKeyEnv).`);
  }
  if (status === 429) return new LMRateLimited(provider, retryAfterMs, body);
  if (isContextOverflowBody(status, body)) return new LMContextWindowExceeded(provider, status, body);
  return new LMHttpError(provider, status, body, retryAfterMs);
}

/**
 * Sends the request and returns the 2xx reply with its body unread, or throws a typed error: LMTimeout,
 * LMAborted, LMNetworkError (connection or body read failed), or the status's error (errorForStatus).
 */
export async function post(attempt: HttpAttempt): Promise<HttpReply> {
  if (attempt.signal?.aborted) throw new LMAborted(attempt.provider, attempt.signal.reason);
  let exchange: Exchange;
  try {
    exchange = new Exchange(attempt.url, { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'user-agent': USER_AGENT, ...attempt.headers }, JSON.stringify(attempt.body));
  } catch (error) {
    const safe = attempt.redactor.error(error);
    throw new LMNetworkError(attempt.provider, safe.message, safe);
  }
  const reply = new Reply(attempt, exchange);
  await reply.started();
  return reply;
}

/**
 * One attempt from its request to the end of its body; a class, not closures, since every attempt makes one.
 * `timeoutMs` bounds the wait for the response head, then a JSON body's read; a stream read with events() is
 * bounded only by its silences: no gap between chunks may reach `timeoutMs`, however long the stream runs.
 */
class Reply implements HttpReply {
  private open = true;
  private timer: unknown;
  /** While a stream is read: when bytes last arrived (the head, then each chunk); -1 before. */
  private lastBytesAt = -1;
  isJson = false;

  constructor(
    private readonly attempt: HttpAttempt,
    private readonly exchange: Exchange,
  ) {
    this.timer = attempt.clock.setTimeout(() => this.expired(), attempt.timeoutMs);
    attempt.signal?.addEventListener('abort', this, { once: true });
  }

  /** The timer fired: a stream that had bytes since it was set gets the rest of its idle allowance. */
  private expired(): void {
    const { clock, timeoutMs, provider } = this.attempt;
    if (this.lastBytesAt >= 0) {
      const quiet = clock.now() - this.lastBytesAt;
      if (quiet < timeoutMs) {
        // One timer per allowance, not one per chunk: re-armed only when it fires.
        this.timer = clock.setTimeout(() => this.expired(), timeoutMs - quiet);
        return;
      }
    }
    this.exchange.end(new LMTimeout(provider, timeoutMs, this.lastBytesAt >= 0 ? 'idle' : 'response'));
  }

  /** The caller's AbortSignal fired. */
  handleEvent(): void {
    this.exchange.end(new LMAborted(this.attempt.provider, this.attempt.signal?.reason));
  }

  /** Waits for the response head; a status outside 2xx is read and thrown as its typed error. */
  async started(): Promise<void> {
    let response: IncomingMessage;
    try {
      response = await this.exchange.head;
    } catch (error) {
      throw this.failed(error, '');
    }
    const status = response.statusCode ?? 0;
    if (status >= 200 && status <= 299) {
      this.isJson = /^application\/json\b/i.test(header(response.headers, 'content-type') ?? '');
      return;
    }
    const text = await this.body('reading the error body failed: ');
    const { provider, clock, redactor } = this.attempt;
    throw errorForStatus(provider, status, text, parseRetryAfter(response.headers, clock.now()), redactor);
  }

  async json(): Promise<unknown> {
    const text = await this.body('reading the body failed: ');
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new LMBadResponse(this.attempt.provider, 'the body is not valid JSON', this.attempt.redactor.text(text));
    }
  }

  async *events(): AsyncGenerator<SseEvent> {
    this.lastBytesAt = this.attempt.clock.now(); // the head is here: from now on only silences count
    try {
      yield* sseEvents(this.stamped(this.exchange.chunks()));
    } catch (error) {
      throw this.failed(error, 'reading the stream failed: ');
    }
  }

  /** The chunks, each noted as the stream's latest sign of life. */
  private async *stamped(chunks: AsyncGenerator<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const chunk of chunks) {
      this.lastBytesAt = this.attempt.clock.now();
      yield chunk;
    }
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    this.attempt.clock.clearTimeout(this.timer);
    this.attempt.signal?.removeEventListener('abort', this);
    this.exchange.release();
  }

  /** The whole body as text; the attempt is over once it is read. */
  private async body(doing: string): Promise<string> {
    let text: string;
    try {
      text = await this.exchange.text();
    } catch (error) {
      throw this.failed(error, doing);
    }
    this.close();
    return text;
  }

  /** What a failure becomes: the reason the exchange was ended with (timeout, abort), or a redacted network error. */
  private failed(error: unknown, doing: string): LMError {
    this.close();
    const reason = this.exchange.endedBy ?? error;
    if (reason instanceof LMError) return reason;
    const safe = this.attempt.redactor.error(reason);
    return new LMNetworkError(this.attempt.provider, `${doing}${safe.message}`, safe);
  }
}

/** The `retries` option: max retries, backoff steps, the longest Retry-After honoured, whether timeouts are retried. */
export interface RetryPolicy {
  /** Retries after the first attempt (default 3, as DSPy's num_retries). */
  max: number;
  /** First backoff step (default 500 ms), doubled per retry up to maxDelayMs (default 30000 ms). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this is not waited for: the call fails with LMRateLimited (default 120000 ms). */
  maxRetryAfterMs: number;
  /**
   * Whether an LMTimeout is retried (default false): `timeoutMs` is how long the caller will wait, and a retry
   * would multiply it (1.5 s and 3 retries: over 6 s). True suits a provider that stalls now and then.
   */
  timeouts: boolean;
}

export const DEFAULT_RETRY: RetryPolicy = { max: 3, baseDelayMs: 500, maxDelayMs: 30_000, maxRetryAfterMs: 120_000, timeouts: false };

/**
 * How long to wait before retry number `retry` (0-based): Retry-After when the server sent one, otherwise
 * exponential backoff with equal jitter (half fixed, half random). Undefined: do not retry.
 */
export function retryDelay(error: LMError, retry: number, policy: RetryPolicy, random: () => number): number | undefined {
  if (!error.retryable || retry >= policy.max || (error instanceof LMTimeout && !policy.timeouts)) return undefined;
  const retryAfter = (error as { retryAfterMs?: number }).retryAfterMs;
  if (retryAfter !== undefined) return retryAfter <= policy.maxRetryAfterMs ? retryAfter : undefined;
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return Math.round(step / 2 + random() * (step / 2));
}

export { sleep };
