// Typed errors of the runtime. Every error has a stable `code`, a message that says what to do, and the
// cause attached where there is one. Callers match on `code` or on the class, never on message text.

export abstract class RuntimeError extends Error {
  abstract readonly code: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The destination of a call, stop or checked send does not exist (dead pid or unregistered name). */
export class NoProcError extends RuntimeError {
  readonly code = 'DSPEX_NOPROC';
  constructor(readonly destination: string, operation: string) {
    super(
      `${operation}: no process ${destination}. It exited or was never registered; ` +
        'look it up again (whereis / Registry.lookup) or restart it under a supervisor.',
    );
  }
}

/** A GenServer.call got no reply within its timeout. A reply that arrives later is dropped. */
export class CallTimeoutError extends RuntimeError {
  readonly code = 'DSPEX_CALL_TIMEOUT';
  constructor(readonly destination: string, readonly timeoutMs: number) {
    super(
      `call to ${destination} got no reply within ${timeoutMs} ms. The server is busy or stuck; ` +
        'raise the timeout, reply later with GenServer.reply, or move the slow work out of handleCall.',
    );
  }
}

/** The server exited while a call to it was in flight; `reason` is its exit reason. */
export class CallExitError extends RuntimeError {
  readonly code = 'DSPEX_CALL_EXIT';
  constructor(readonly destination: string, readonly reason: unknown) {
    super(`${destination} exited with reason ${formatReason(reason)} before replying to the call.`, {
      cause: reason instanceof Error ? reason : undefined,
    });
  }
}

/** A process tried to call itself, which can never be answered. */
export class CallingSelfError extends RuntimeError {
  readonly code = 'DSPEX_CALLING_SELF';
  constructor(destination: string) {
    super(`${destination} called itself; a GenServer cannot answer its own call. Use a direct function call.`);
  }
}

/** A child spec or start option is malformed. */
export class InvalidChildSpecError extends RuntimeError {
  readonly code = 'DSPEX_INVALID_CHILD_SPEC';
  constructor(readonly childId: unknown, detail: string) {
    super(`invalid child spec ${formatReason(childId)}: ${detail}`);
  }
}

/** Two children of one supervisor share an id. */
export class DuplicateChildError extends RuntimeError {
  readonly code = 'DSPEX_DUPLICATE_CHILD';
  constructor(readonly childId: unknown) {
    super(`a child with id ${formatReason(childId)} already exists; child ids must be unique within a supervisor.`);
  }
}

/** A name is already registered to another live process. */
export class NameTakenError extends RuntimeError {
  readonly code = 'DSPEX_NAME_TAKEN';
  constructor(readonly processName: string, readonly holder: string) {
    super(`the name ${processName} is already registered to ${holder}; unregister it or pick another name.`);
  }
}

/** Invalid arguments to a runtime function (wrong type, out of range). */
export class BadArgumentError extends RuntimeError {
  readonly code = 'DSPEX_BAD_ARGUMENT';
}

/** A DynamicSupervisor already runs max_children children. */
export class MaxChildrenError extends RuntimeError {
  readonly code = 'DSPEX_MAX_CHILDREN';
  constructor(readonly maxChildren: number) {
    super(`the dynamic supervisor already runs its max_children (${maxChildren}); stop a child or raise the limit.`);
  }
}

/** Renders an exit reason for messages and logs: atoms as-is, errors by name and message, the rest as JSON. */
export function formatReason(reason: unknown): string {
  if (typeof reason === 'string') return reason;
  if (reason instanceof Error) return `${reason.name}: ${reason.message}`;
  if (reason === undefined) return 'undefined';
  try {
    return JSON.stringify(reason, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? String(reason);
  } catch {
    return String(reason);
  }
}
