// Typed errors of the runtime. Every error has a stable `code`, a message that says what to do, and the
// cause attached where there is one. Callers match on `code` or on the class, never on message text.

/**
 * The base of every DSPex error, in every package: a stable `code` to match on, a message that says what to
 * do, and the cause attached. `error instanceof DSPexError` tells DSPex's errors from everything else.
 */
export abstract class DSPexError extends Error {
  abstract readonly code: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Errors of the runtime itself. */
export abstract class RuntimeError extends DSPexError {}

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

/** A process tried to call or stop itself, which can never be answered (OTP's calling_self). */
export class CallingSelfError extends RuntimeError {
  readonly code = 'DSPEX_CALLING_SELF';
  constructor(destination: string, operation: 'call' | 'stop' = 'call') {
    super(
      operation === 'call'
        ? `${destination} called itself; a GenServer cannot answer its own call. Use a direct function call.`
        : `${destination} called GenServer.stop on itself, which would wait forever for its own exit; return { stop: reason, state } from the callback instead.`,
    );
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

// --- Ports (OS processes) and worker pools ---

/** Port.open could not start the command because it does not exist (spawn ENOENT). */
export class PortCommandNotFoundError extends RuntimeError {
  readonly code = 'DSPEX_PORT_COMMAND_NOT_FOUND';
  constructor(readonly command: string, readonly cwd: string | undefined, cause?: unknown) {
    super(
      `command not found: ${command}${cwd === undefined ? '' : ` (cwd ${cwd})`}. Install it, pass an absolute path, ` +
        'or fix PATH in the port env; a cwd that does not exist fails the same way.',
      { cause },
    );
  }
}

/** Port.open could not start the command for another reason (permissions, bad options, resource limits). */
export class PortSpawnError extends RuntimeError {
  readonly code = 'DSPEX_PORT_SPAWN';
  constructor(readonly command: string, readonly errno: string | undefined, cause?: unknown) {
    super(`could not start ${command}${errno === undefined ? '' : ` (${errno})`}; check that it is executable and the options are valid.`, { cause });
  }
}

/** A worker-pool task failed: the task threw in its thread, or the thread died under it. The pool serves on. */
export class WorkerTaskError extends RuntimeError {
  readonly code = 'DSPEX_WORKER_TASK';
  constructor(readonly pool: string, cause: unknown) {
    super(`a task on worker pool ${pool} failed: ${formatReason(cause)}. The pool keeps serving; fix the task or retry it.`, { cause });
  }
}

/** A worker-pool task was cancelled through its AbortSignal before it finished. */
export class WorkerTaskAbortedError extends RuntimeError {
  readonly code = 'DSPEX_WORKER_TASK_ABORTED';
  constructor(readonly pool: string, cause: unknown) {
    super(`a task on worker pool ${pool} was aborted by its signal; its thread was replaced.`, { cause });
  }
}

/** A worker pool's queue is full (maxQueue tasks wait already). */
export class WorkerQueueFullError extends RuntimeError {
  readonly code = 'DSPEX_WORKER_QUEUE_FULL';
  constructor(readonly pool: string, cause: unknown) {
    super(`the queue of worker pool ${pool} is full; retry later, raise maxQueue, or shed load before calling run.`, { cause });
  }
}

// --- DynamicSupervisor, Task ---

/** A DynamicSupervisor child did not start: its start function returned { error } or ignore. */
export class ChildStartError extends RuntimeError {
  readonly code = 'DSPEX_CHILD_START';
  constructor(readonly reason: unknown) {
    super(`the child did not start: ${formatReason(reason)}. Check its start function and what its init returns.`, {
      cause: reason instanceof Error ? reason : undefined,
    });
  }
}

/** Task.await (or an async stream item with onTimeout 'exit') got no result in time; the task was killed. */
export class TaskTimeoutError extends RuntimeError {
  readonly code = 'DSPEX_TASK_TIMEOUT';
  constructor(readonly task: string, readonly timeoutMs: number) {
    super(
      `task ${task} gave no result within ${timeoutMs} ms and was killed. Raise the timeout, or use Task.yield ` +
        "(or onTimeout: 'kill_task' in a stream) to carry on without it.",
    );
  }
}

/** The task exited before giving a result; `reason` is its exit reason (the error it threw, for a crash). */
export class TaskExitError extends RuntimeError {
  readonly code = 'DSPEX_TASK_EXIT';
  constructor(readonly task: string, readonly reason: unknown) {
    super(`task ${task} exited with reason ${formatReason(reason)} before giving a result.`, {
      cause: reason instanceof Error ? reason : undefined,
    });
  }
}
