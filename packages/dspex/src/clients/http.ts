// One HTTP attempt for the LM clients: POST JSON with Node's fetch (undici), a per-attempt timeout on the
// client's clock, the caller's AbortSignal, and the mapping of every failure to a typed, redacted LMError.
// Retry-After (seconds or HTTP date, and OpenAI's retry-after-ms) is parsed here for the retry loop.

import { sleep, type Clock } from './clock.js';
import { LMAborted, LMAuthError, LMBadResponse, LMError, LMHttpError, LMNetworkError, LMRateLimited, LMTimeout, type Redactor } from './errors.js';

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

/** Retry-After in ms from now: `retry-after-ms`, then `retry-after` as seconds or an HTTP date. */
export function parseRetryAfter(headers: Headers, now: number): number | undefined {
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '' && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const value = headers.get('retry-after');
  if (value === null || value.trim() === '') return undefined;
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
  return new LMHttpError(provider, status, body, retryAfterMs);
}

/**
 * Sends the request and returns the 2xx Response with its body unread (for streaming) or throws a typed
 * error. The returned `done()` must be called once the body is consumed, to clear the timeout.
 */
export async function post(attempt: HttpAttempt): Promise<{ response: Response; signal: AbortSignal; done: () => void }> {
  const { provider, clock, redactor } = attempt;
  const controller = new AbortController();
  let timedOut = false;
  const timer = clock.setTimeout(() => {
    timedOut = true;
    controller.abort(new LMTimeout(provider, attempt.timeoutMs));
  }, attempt.timeoutMs);
  const onAbort = (): void => controller.abort(new LMAborted(provider, attempt.signal?.reason));
  if (attempt.signal?.aborted) onAbort();
  attempt.signal?.addEventListener('abort', onAbort, { once: true });
  const done = (): void => {
    clock.clearTimeout(timer);
    attempt.signal?.removeEventListener('abort', onAbort);
  };
  const failed = (error: unknown): LMError => {
    done();
    if (timedOut) return new LMTimeout(provider, attempt.timeoutMs);
    if (controller.signal.aborted && controller.signal.reason instanceof LMError) return controller.signal.reason;
    if (error instanceof LMError) return error;
    const safe = redactor.error(error);
    return new LMNetworkError(provider, safe.message, safe);
  };
  let response: Response;
  try {
    response = await fetch(attempt.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...attempt.headers },
      body: JSON.stringify(attempt.body),
      signal: controller.signal,
    });
  } catch (error) {
    throw failed(error);
  }
  if (response.ok) return { response, signal: controller.signal, done };
  let text = '';
  try {
    text = await response.text();
  } catch (error) {
    throw failed(error);
  }
  done();
  throw errorForStatus(provider, response.status, text, parseRetryAfter(response.headers, clock.now()), redactor);
}

/** Reads a 2xx body as JSON; malformed text is an LMBadResponse carrying a redacted excerpt. */
export async function readJson(provider: string, response: Response, redactor: Redactor, done: () => void, signal: AbortSignal): Promise<unknown> {
  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    done();
    if (signal.aborted && signal.reason instanceof LMError) throw signal.reason;
    const safe = redactor.error(error);
    throw new LMNetworkError(provider, `reading the body failed: ${safe.message}`, safe);
  }
  done();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new LMBadResponse(provider, 'the body is not valid JSON', redactor.text(text));
  }
}

export interface RetryPolicy {
  /** Retries after the first attempt (default 3, as DSPy's num_retries). */
  max: number;
  /** First backoff step (default 500 ms), doubled per retry up to maxDelayMs (default 30000 ms). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this is not waited for: the call fails with LMRateLimited (default 120000 ms). */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { max: 3, baseDelayMs: 500, maxDelayMs: 30_000, maxRetryAfterMs: 120_000 };

/**
 * How long to wait before retry number `retry` (0-based): Retry-After when the server sent one, otherwise
 * exponential backoff with equal jitter (half fixed, half random). Undefined: do not retry.
 */
export function retryDelay(error: LMError, retry: number, policy: RetryPolicy, random: () => number): number | undefined {
  if (!error.retryable || retry >= policy.max) return undefined;
  const retryAfter = (error as { retryAfterMs?: number }).retryAfterMs;
  if (retryAfter !== undefined) return retryAfter <= policy.maxRetryAfterMs ? retryAfter : undefined;
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return Math.round(step / 2 + random() * (step / 2));
}

export { sleep };
