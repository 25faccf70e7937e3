// The time source of an LM client: retries, Retry-After, the rate limiter, the breaker's cooldown and the
// per-attempt timeout all read it, so a test can drive them with a manual clock instead of sleeping.

/** The time source of an LM client (retries, Retry-After, rate limiter, breaker, timeouts), so a test can drive them without sleeping. */
export interface Clock {
  /** Milliseconds since the epoch (Retry-After HTTP dates are compared with it). */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock (Date.now, setTimeout); tests pass a manual Clock instead. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const handle = setTimeout(fn, ms);
    handle.unref?.();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Resolves after `ms` on `clock`; rejects with the signal's reason if it aborts first. 0 resolves at once. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (!(ms > 0)) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clock.clearTimeout(handle);
      reject(signal!.reason);
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
