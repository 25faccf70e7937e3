// Which failures send a call to the other side: the ones that say "this side cannot serve right now" (a dead or
// saturated Python pool, an LM that is down or rate limiting), never the ones about the call itself (a parse
// error, a bad argument), which the other side would only repeat.

/** Codes that mean the side, not the request, failed. LM 5xx comes as DSPEX_LM_HTTP with status >= 500. */
const SIDE_FAILURES: ReadonlySet<string> = new Set([
  'DSPEX_WORKER_CRASHED',
  'DSPEX_POOL_SATURATED',
  'DSPEX_QUEUE_TIMEOUT',
  'DSPEX_SESSION_WORKER_LOST',
  'DSPEX_WORKER_BUSY',
  'DSPEX_POOL_CLOSED',
  'DSPEX_LM_CIRCUIT_OPEN',
  'DSPEX_LM_RATE_LIMITED',
  'DSPEX_LM_TIMEOUT',
  'DSPEX_LM_NETWORK',
]);

/** An error's stable code (its `code`, else its name, else 'UNKNOWN'), as route events report it. */
export function errorCode(error: unknown): string {
  if (error === null || typeof error !== 'object') return 'UNKNOWN';
  const { code, name } = error as { code?: unknown; name?: unknown };
  return typeof code === 'string' ? code : typeof name === 'string' ? name : 'UNKNOWN';
}

/** Whether `error` (or an error in its cause chain, as adapters wrap LM errors) is a retryable side failure. */
export function isRetryable(error: unknown): boolean {
  for (let current = error, depth = 0; current !== null && typeof current === 'object' && depth < 8; current = (current as { cause?: unknown }).cause, depth++) {
    const code = errorCode(current);
    if (SIDE_FAILURES.has(code)) return true;
    if (code === 'DSPEX_LM_HTTP' && ((current as { status?: number }).status ?? 0) >= 500) return true;
    if ((current as { retryable?: unknown }).retryable === true) return true;
  }
  return false;
}

/** The first code in the cause chain that is in `codes`, if any (to update health from what failed). */
export function findCode(error: unknown, codes: ReadonlySet<string>): string | undefined {
  for (let current = error, depth = 0; current !== null && typeof current === 'object' && depth < 8; current = (current as { cause?: unknown }).cause, depth++) {
    const code = errorCode(current);
    if (codes.has(code)) return code;
  }
  return undefined;
}

const WORKER_LOSS: ReadonlySet<string> = new Set(['DSPEX_WORKER_CRASHED', 'DSPEX_SESSION_WORKER_LOST']);

/** Whether `error` says the Python worker died under the call (it may have run: only an idempotent call repeats). */
export function isWorkerLoss(error: unknown): boolean {
  return findCode(error, WORKER_LOSS) !== undefined;
}

/**
 * Whether the other side should take a call that failed with `error`: a retryable side failure, or a side that
 * cannot serve at all until someone fixes it (a pool whose workers cannot start: WorkerStartupFailed). The
 * latter is not retryable (retrying the same side cannot help), but the other side can answer.
 */
export function worthFallback(error: unknown): boolean {
  return isRetryable(error) || findCode(error, SIDE_DOWN) !== undefined;
}

const SIDE_DOWN: ReadonlySet<string> = new Set(['DSPEX_WORKER_STARTUP_FAILED']);
