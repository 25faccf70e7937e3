// Typed errors of the router. Each has a stable `code`; the errors of the sides themselves (LM, bridge) pass
// through unchanged when there is nothing to fall back to, and are attached when both sides failed.

import { DSPexError } from '@dspex/runtime';

/** Base class of Router errors; each has a stable `code`. */
export abstract class RouterError extends DSPexError {}

/** A module was registered with no side that can run it, or with bad router options. */
export class RouterConfigError extends RouterError {
  readonly code = 'DSPEX_ROUTER_CONFIG';
}

/** Both sides failed: the first side's error, then the fallback's. `cause` is the fallback's error. */
export class RouteFailedError extends RouterError {
  readonly code = 'DSPEX_ROUTE_FAILED';
  constructor(
    readonly module: string,
    readonly errors: readonly [first: unknown, fallback: unknown],
  ) {
    const describe = (error: unknown): string => (error instanceof Error ? `${(error as { code?: string }).code ?? error.name}: ${error.message}` : String(error));
    super(`${module} failed natively and in Python: ${describe(errors[0])}; then ${describe(errors[1])}. Check the LM and the Python pool.`, { cause: errors[1] });
  }
}
