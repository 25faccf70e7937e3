// Typed errors of the LM clients. Every error has a stable `code`, a message that says what to do, and a
// cause that has been through the same redaction as the message: an API key never appears in an error.
// The Redactor lives here too, since every error is built through it.

import { DSPexError } from '@dspex/runtime';

/** The stable codes of LM client errors. */
export type LMErrorCode =
  | 'DSPEX_LM_CONFIG'
  | 'DSPEX_LM_AUTH'
  | 'DSPEX_LM_HTTP'
  | 'DSPEX_LM_RATE_LIMITED'
  | 'DSPEX_LM_CIRCUIT_OPEN'
  | 'DSPEX_LM_TIMEOUT'
  | 'DSPEX_LM_ABORTED'
  | 'DSPEX_LM_NETWORK'
  | 'DSPEX_LM_BAD_RESPONSE'
  | 'DSPEX_LM_CONTEXT_WINDOW_EXCEEDED';

/** How much of a provider's body an error keeps once redacted. */
const MAX_BODY_CHARS = 4000;

/** Base class of LM client errors; each has a stable `code` and `retryable` (whether the Router may fall back on it). */
export abstract class LMError extends DSPexError {
  abstract override readonly code: LMErrorCode;
  /** Whether the failure may pass on another try or another side (429, 5xx, network, timeout). */
  readonly retryable: boolean = false;

  /**
   * Removes secrets from this error in place (message, stack, body): the one choke point every error passes
   * before it leaves a client. A message that quotes a cut of the body is rebuilt from the redacted body, so a
   * cut through a key cannot leave part of it behind.
   */
  redact(redactor: Redactor): this {
    const body = (this as { body?: unknown }).body;
    if (typeof body === 'string') {
      // Redacted whole, then cut: a cut through a key first would leave part of it unrecognisable.
      const clean = redactor.text(body).slice(0, MAX_BODY_CHARS);
      Object.defineProperty(this, 'body', { value: clean, enumerable: true });
      this.message = this.messageWith(clean) ?? this.message;
    }
    this.message = redactor.text(this.message);
    if (this.stack !== undefined) {
      // The stack's first line repeats the message as it was when the error was made.
      const frames = this.stack.indexOf('\n    at ');
      this.stack = `${this.name}: ${this.message}${frames === -1 ? '' : redactor.text(this.stack.slice(frames))}`;
    }
    return this;
  }

  /** The message this error would have with `body` as its body; undefined for an error without a body. */
  protected messageWith(_body: string): string | undefined {
    return undefined;
  }
}

/** A client is misconfigured (unknown provider, missing base URL); fix the options passed to LM.start. */
export class LMConfigError extends LMError {
  readonly code = 'DSPEX_LM_CONFIG';
}

/** The provider refused the credentials (401/403) or none were found in the environment. */
export class LMAuthError extends LMError {
  readonly code = 'DSPEX_LM_AUTH';
  constructor(readonly provider: string, readonly status: number | undefined, detail: string) {
    super(`${provider}: authentication failed${status === undefined ? '' : ` (HTTP ${status})`}: ${detail}`);
  }
}

/** An HTTP error status the client does not retry, or a retryable one (5xx) after the last retry. */
export class LMHttpError extends LMError {
  readonly code = 'DSPEX_LM_HTTP';
  override readonly retryable: boolean;
  constructor(readonly provider: string, readonly status: number, readonly body: string, readonly retryAfterMs?: number) {
    super(httpMessage(provider, status, body));
    this.retryable = status >= 500 || status === 408 || status === 409;
  }

  protected override messageWith(body: string): string {
    return httpMessage(this.provider, this.status, body);
  }
}

function httpMessage(provider: string, status: number, body: string): string {
  const hint = status >= 500 ? 'the provider is failing; retry later or raise retries.' : 'the request was refused; check the model name and request settings.';
  return `${provider}: HTTP ${status}: ${body.slice(0, 300) || '(empty body)'} - ${hint}`;
}

/**
 * The prompt does not fit the model's context window (an HTTP 400 or 413 that says so, as OpenAI, Anthropic,
 * Gemini and llama.cpp servers word it). Not retried: shorten the prompt. ReAct ends its trajectory on it.
 */
export class LMContextWindowExceeded extends LMError {
  readonly code = 'DSPEX_LM_CONTEXT_WINDOW_EXCEEDED';
  constructor(readonly provider: string, readonly status: number, readonly body: string) {
    super(LMContextWindowExceeded.describe(provider, status, body));
  }

  protected override messageWith(body: string): string {
    return LMContextWindowExceeded.describe(this.provider, this.status, body);
  }

  private static describe(provider: string, status: number, body: string): string {
    return `${provider}: the prompt does not fit the model's context window (HTTP ${status}): ${body.slice(0, 300)} - send fewer demos or shorter inputs, or use a model with a longer context.`;
  }
}

/** Provider wordings of a context overflow. */
const CONTEXT_OVERFLOW = /context[_ ]length|context window|maximum context|too many tokens|prompt is too long|exceeds the context|input token count/i;

/** True when a 400/413 body says the prompt is longer than the model's context. */
export function isContextOverflowBody(status: number, body: string): boolean {
  return (status === 400 || status === 413) && CONTEXT_OVERFLOW.test(body);
}

/** HTTP 429 after the last retry, or a Retry-After longer than the client is willing to wait. */
export class LMRateLimited extends LMError {
  readonly code = 'DSPEX_LM_RATE_LIMITED';
  override readonly retryable = true;
  constructor(readonly provider: string, readonly retryAfterMs: number | undefined, readonly body: string) {
    super(LMRateLimited.describe(provider, retryAfterMs, body));
  }

  protected override messageWith(body: string): string {
    return LMRateLimited.describe(this.provider, this.retryAfterMs, body);
  }

  private static describe(provider: string, retryAfterMs: number | undefined, body: string): string {
    const after = retryAfterMs === undefined ? '' : ` (Retry-After ${Math.ceil(retryAfterMs / 1000)} s)`;
    return `${provider}: rate limited${after}: ${body.slice(0, 200)} - lower rateLimit.rpm/tpm, raise retries, or wait.`;
  }
}

/** The client's circuit breaker is open: recent calls failed, so this one fails fast without a request. */
export class CircuitOpen extends LMError {
  readonly code = 'DSPEX_LM_CIRCUIT_OPEN';
  constructor(readonly client: string, readonly state: 'open' | 'half_open') {
    super(
      state === 'open'
        ? `${client}: circuit open after repeated failures; calls fail fast until the cooldown ends (breaker.cooldownMs).`
        : `${client}: circuit half-open and its trial call is in flight; retry once the trial settles.`,
    );
  }
}

/**
 * An attempt waited `timeoutMs` for its response ('response'), or a stream went quiet that long between chunks
 * ('idle'). Retried only when the client's `retries.timeouts` is true (default false); `retryable` is true
 * because another side (the Router's fallback) may well answer in time.
 */
export class LMTimeout extends LMError {
  readonly code = 'DSPEX_LM_TIMEOUT';
  override readonly retryable = true;
  constructor(readonly provider: string, readonly timeoutMs: number, readonly phase: 'response' | 'idle' = 'response') {
    super(
      phase === 'idle'
        ? `${provider}: the stream sent nothing for ${timeoutMs} ms; raise timeoutMs if the model pauses that long, or check the server.`
        : `${provider}: no response within ${timeoutMs} ms; raise timeoutMs or check that the server is reachable.`,
    );
  }
}

/** The caller's AbortSignal fired. Not retried. */
export class LMAborted extends LMError {
  readonly code = 'DSPEX_LM_ABORTED';
  constructor(readonly provider: string, reason?: unknown) {
    super(`${provider}: the request was aborted by its AbortSignal.`, reason === undefined ? undefined : { cause: reason });
  }
}

/** The connection failed (refused, reset, DNS). Retried. */
export class LMNetworkError extends LMError {
  readonly code = 'DSPEX_LM_NETWORK';
  override readonly retryable = true;
  constructor(readonly provider: string, detail: string, cause?: unknown) {
    super(`${provider}: network error: ${detail}; check apiBase and that the server is up.`, cause === undefined ? undefined : { cause });
  }
}

/** The provider answered 2xx with a body that is not what its wire format says (bad JSON, missing fields). */
export class LMBadResponse extends LMError {
  readonly code = 'DSPEX_LM_BAD_RESPONSE';
  readonly #detail: string;
  constructor(readonly provider: string, detail: string, readonly body: string) {
    super(LMBadResponse.describe(provider, detail, body));
    this.#detail = detail;
  }

  protected override messageWith(body: string): string {
    return LMBadResponse.describe(this.provider, this.#detail, body);
  }

  private static describe(provider: string, detail: string, body: string): string {
    return `${provider}: malformed response: ${detail}${body ? `; body starts ${JSON.stringify(body.slice(0, 200))}` : ''}. Is apiBase pointing at the right API?`;
  }
}

const REDACTED = '[REDACTED]';
// Shapes of credentials that may be echoed by a provider even when they are not this client's own key.
const KEY_PATTERNS: readonly RegExp[] = [
  /\bsk-[A-Za-z0-9_-]{12,}/g, // OpenAI, Anthropic (sk-ant-...)
  /\bAIza[0-9A-Za-z_-]{20,}/g, // Google
  /(Bearer\s+)[^\s"',]+/gi,
  /((?:x-api-key|x-goog-api-key|api[_-]?key)["']?\s*[:=]\s*["']?)[^\s"',&]+/gi,
];

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
/** A hex digit in either case. */
const anyCaseHex = (hex: string): string => [...hex].map((d) => (/[a-f]/.test(d) ? `[${d}${d.toUpperCase()}]` : d)).join('');

/**
 * `secret` as a provider may echo it: each character as itself, as a JSON escape (`\/`, `\u002f`, `\u002F`; any
 * character may be written `\uXXXX`), with the backslashes doubled by a JSON string inside a JSON string, or
 * percent-encoded as in a URL. Any mix of these matches.
 */
function escapedForms(secret: string): RegExp {
  let source = '';
  for (let i = 0; i < secret.length; i++) {
    const char = secret[i]!;
    const unit = secret.charCodeAt(i);
    const forms = [escapeRegExp(char), `\\\\+u${anyCaseHex(unit.toString(16).padStart(4, '0'))}`, `\\\\+${escapeRegExp(char)}`];
    if (unit < 0x80 && !/[A-Za-z0-9]/.test(char)) forms.push(`%${anyCaseHex(unit.toString(16).padStart(2, '0'))}`);
    source += `(?:${forms.join('|')})`;
  }
  return new RegExp(source, 'g');
}

/** Removes this client's secrets, in any escaping, and anything shaped like a credential, from text that may be logged. */
export class Redactor {
  private secrets: string[];
  private escaped: RegExp[];
  private readonly fixed: string[];
  private readonly added: string[] = [];
  constructor(secrets: readonly (string | undefined)[] = []) {
    this.fixed = secrets.filter((s): s is string => typeof s === 'string' && s.length >= 4);
    this.secrets = [...this.fixed].sort((a, b) => b.length - a.length);
    this.escaped = this.secrets.map(escapedForms);
  }

  /** Redacts `secret` from now on too (a rotated API key); the newest 16 are kept. */
  add(secret: string): void {
    if (secret.length < 4 || this.secrets.includes(secret)) return;
    this.added.push(secret);
    if (this.added.length > 16) this.added.shift();
    this.secrets = [...this.fixed, ...this.added].sort((a, b) => b.length - a.length);
    this.escaped = this.secrets.map(escapedForms);
  }

  text(input: string): string {
    let out = input;
    for (const secret of this.secrets) out = out.split(secret).join(REDACTED);
    // Only text with an escape in it can hold an escaped secret; the common case stays a plain search.
    if (out.includes('\\') || out.includes('%')) for (const pattern of this.escaped) out = out.replace(pattern, REDACTED);
    for (const pattern of KEY_PATTERNS) out = out.replace(pattern, (_m, prefix: unknown) => (typeof prefix === 'string' ? prefix : '') + REDACTED);
    return out;
  }

  /** An Error safe to attach as a cause: same name, redacted message, no original stack or nested cause. */
  error(error: unknown): Error {
    if (error instanceof LMError) return error;
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    // The errno (ECONNRESET, ...) is on the error itself for node:http and on its cause for fetch.
    const shaped = error as { code?: unknown; cause?: { code?: unknown } } | null;
    const code = typeof shaped?.code === 'string' ? shaped.code : shaped?.cause?.code;
    const safe = new Error(this.text(message + (typeof code === 'string' && !message.includes(code) ? ` (${code})` : '')));
    safe.name = 'RedactedError';
    return safe;
  }
}
