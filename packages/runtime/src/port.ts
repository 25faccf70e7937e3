// Port: an OS process as a runtime process (Erlang's open_port). The OS process runs in its own process
// group; when it exits, the port process exits with a reason a supervisor understands, and when the port
// process dies for any reason, the whole group is killed. Python workers and the local model server use it.

import nodeProcess from 'node:process';
import type { Readable, Writable } from 'node:stream';
import { execa, type ResultPromise } from 'execa';
import type { ChildSpec } from './child_spec.js';
import { BadArgumentError, PortCommandNotFoundError, PortSpawnError, formatReason } from './errors.js';
import { runtimeOf, type Caller } from './gen_server.js';
import type { Dest, Pid, Process, ProcessContext } from './process.js';
import { Exit, isShutdown, type ExitReason } from './reasons.js';
import { asProcess, type Runtime } from './runtime.js';

/** What Port.open and openLink run: the command, its arguments, environment and pipes. */
export interface PortOptions {
  command: string;
  args?: readonly string[];
  /** Added to the environment of this Node process (execa's extendEnv). */
  env?: Readonly<Record<string, string | undefined>>;
  cwd?: string;
  /** Extra pipes at fds 3 .. 3+n-1. Each is a socket pair, so both ends are exposed (default 0). */
  extraFds?: number;
  /** Shown in crash reports (default `port:<command>`). */
  label?: string;
  /**
   * Deliver stdout chunks to this process as PortData messages instead of leaving stdout to be read. Every
   * chunk arrives before the port's exit signal or DOWN, as Erlang's data comes before exit_status.
   */
  deliverTo?: Dest;
  /** After SIGTERM (a 'shutdown' stop), how long the group has before SIGKILL (default 2000 ms). */
  killTimeoutMs?: number;
}

/** One extra fd of a port: a socket, so it is readable and writable from this side. */
export interface PortFd {
  readonly readable?: Readable;
  readonly writable?: Writable;
}

/** How the OS process ended: its exit code, or the signal that killed it. */
export interface PortExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running port: its pid (a process like any other) and the OS process's pipes. */
export interface PortHandle {
  /** The port process: link to it, monitor it, send it PortCommand messages. */
  readonly pid: Pid;
  /** The OS pid, which is also the process group id. */
  readonly osPid: number;
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** fds[0] is fd 3 in the OS process, fds[1] is fd 4, and so on. */
  readonly fds: readonly PortFd[];
  /**
   * Resolves when the OS process has exited and its pipes are closed (never rejects). Since the port kills
   * the rest of the group when the leader exits, every group member sharing the pipes is dead by then.
   */
  readonly exited: Promise<PortExit>;
}

/** Messages a port process understands: `{ command: data }` writes to stdin (port_command); 'close' ends stdin. */
export type PortCommand = { command: string | Uint8Array } | 'close';

/** The exit reason of a port whose OS process exited by itself: 'normal' for code 0. */
export type PortExitReason = 'normal' | { exitStatus: number } | { signal: NodeJS.Signals };

/** A chunk of stdout, sent to `deliverTo` (Erlang's `{Port, {data, Data}}`). */
export class PortData {
  readonly kind = 'PORT_DATA' as const;
  constructor(readonly port: Pid, readonly data: Buffer) {}
}

const DEFAULT_KILL_TIMEOUT_MS = 2000;
const HANDLES = new WeakMap<Pid, PortHandle>();

// The Node-exit safety net: groups whose leader has not been seen to exit. SIGKILL of Node itself cannot be
// caught, so nothing here runs then; the Python side covers that case with PR_SET_PDEATHSIG and pipe EOF.
// Kept on globalThis so that every copy of this module (test isolation, two bundled versions) shares one
// set and one listener.
interface SafetyNet {
  groups: Set<number>;
}
const SAFETY_NET = Symbol.for('dspex.port.safetyNet');
const registry = globalThis as { [SAFETY_NET]?: SafetyNet };
const liveGroups = (registry[SAFETY_NET] ??= installSafetyNet()).groups;

function installSafetyNet(): SafetyNet {
  const net: SafetyNet = { groups: new Set() };
  nodeProcess.on('exit', () => {
    for (const pgid of net.groups) signalGroup(pgid, 'SIGKILL', null);
  });
  return net;
}

/** kill(-pgid): a group that is already gone (ESRCH) is not an error. */
function signalGroup(pgid: number, signal: NodeJS.Signals, rt: Runtime | null): void {
  try {
    nodeProcess.kill(-pgid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') rt?.logger.warn({ err: error, pgid }, `port: could not send ${signal} to process group ${pgid}`);
  }
}

/** exit code / signal -> the port's exit reason. */
export function portExitReason(exit: PortExit): PortExitReason {
  if (exit.signal !== null) return { signal: exit.signal };
  return exit.code === 0 ? 'normal' : { exitStatus: exit.code ?? -1 };
}

/**
 * The OS side of one port and the port process's code. Lifecycle: the leader exits (by itself or because we
 * signalled the group) -> the rest of the group gets SIGKILL -> the pipes close -> `exited` resolves and the
 * port process exits, with the reason it was asked to stop with, or the one derived from the exit status.
 */
class PortInstance {
  leaderExit: PortExit | null = null;
  /** Set once the port process is asked to stop (an exit signal, its owner's exit): the reason it exits with. */
  stopReason: ExitReason = undefined;
  stopping = false;
  private graceTimer: ReturnType<typeof setTimeout> | undefined;
  private closeTimer: ReturnType<typeof setTimeout> | undefined;
  private resolveExited!: (exit: PortExit) => void;
  readonly exited = new Promise<PortExit>((resolve) => (this.resolveExited = resolve));
  process!: Process;

  constructor(
    private readonly rt: Runtime,
    private readonly subprocess: ResultPromise,
    readonly pgid: number,
    private readonly owner: Process | null,
    private readonly killTimeoutMs: number,
  ) {}

  /** The port process's message handler. It traps exits so that a stop can wait for the OS process. */
  receive(message: unknown): void {
    if (message instanceof Exit) {
      // Like a port in Erlang: it closes when its owner exits for any reason, and dies of others' abnormal exits.
      if (message.from === this.owner || message.reason !== 'normal') this.stop(message.reason);
      return;
    }
    if (message === 'close') {
      this.subprocess.stdin?.end();
      return;
    }
    if (typeof message === 'object' && message !== null && 'command' in message) {
      const data = (message as { command: unknown }).command;
      if (typeof data === 'string' || data instanceof Uint8Array) {
        this.subprocess.stdin?.write(data);
        return;
      }
    }
    this.rt.logger.warn({ pid: String(this.process) }, `port ${this.process} ignored a message that is not a PortCommand: ${formatReason(message)}`);
  }

  /** Asks the group to end: SIGTERM then SIGKILL after the grace period for a shutdown, SIGKILL otherwise. */
  stop(reason: ExitReason): void {
    if (!this.stopping) {
      this.stopping = true;
      this.stopReason = reason;
    }
    this.killGroup(isShutdown(reason));
  }

  killGroup(graceful: boolean): void {
    if (this.leaderExit !== null) return; // the rest of the group got SIGKILL when the leader exited
    if (!graceful) {
      signalGroup(this.pgid, 'SIGKILL', this.rt);
      return;
    }
    if (this.graceTimer !== undefined) return;
    signalGroup(this.pgid, 'SIGTERM', this.rt);
    this.graceTimer = setTimeout(() => signalGroup(this.pgid, 'SIGKILL', this.rt), this.killTimeoutMs);
  }

  onLeaderExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.leaderExit = { code, signal };
    clearTimeout(this.graceTimer);
    // Orphans the leader left behind (a shell's background jobs) still hold the pgid; they go now.
    signalGroup(this.pgid, 'SIGKILL', this.rt);
    liveGroups.delete(this.pgid);
    // A process outside the group (it called setsid) may hold a pipe open forever; stop waiting for it.
    this.closeTimer = setTimeout(() => {
      for (const stream of this.subprocess.stdio) stream?.destroy();
    }, this.killTimeoutMs);
  }

  onClosed(): void {
    clearTimeout(this.closeTimer);
    const exit = this.leaderExit ?? { code: this.subprocess.exitCode, signal: this.subprocess.signalCode as NodeJS.Signals | null };
    this.resolveExited(exit);
    if (!this.process.alive) return;
    if (this.stopping) this.rt.terminate(this.process, this.stopReason, false);
    else this.rt.terminate(this.process, portExitReason(exit), true);
  }

  /** The port process died (killed, or exited before its OS process did): the group must not outlive it. */
  onPortDown(reason: ExitReason): void {
    this.killGroup(isShutdown(reason));
  }
}

/** One place for spawn, so open and openLink differ only in the owner. */
async function openPort(rt: Runtime, options: PortOptions, owner: Process | null): Promise<PortHandle> {
  const extraFds = options.extraFds ?? 0;
  const killTimeoutMs = options.killTimeoutMs ?? DEFAULT_KILL_TIMEOUT_MS;
  if (typeof options.command !== 'string' || options.command.length === 0) throw new BadArgumentError('Port.open needs a non-empty command.');
  if (!Number.isInteger(extraFds) || extraFds < 0) throw new BadArgumentError(`extraFds must be a non-negative integer, not ${String(extraFds)}.`);
  if (!(Number.isFinite(killTimeoutMs) && killTimeoutMs >= 0)) throw new BadArgumentError(`killTimeoutMs must be a non-negative number, not ${String(killTimeoutMs)}.`);

  const subprocess = execa(options.command, [...(options.args ?? [])], {
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    ...(options.env === undefined ? {} : { env: options.env }),
    detached: true, // setsid: its own session and process group, pgid === pid
    stdio: ['pipe', 'pipe', 'pipe', ...Array.from({ length: extraFds }, () => 'pipe' as const)],
    buffer: false,
    reject: false,
  });
  // Node sets pid only when the spawn succeeded; the failure itself arrives on the result promise.
  if (subprocess.pid === undefined) {
    const failed = (await subprocess) as { code?: string; cause?: unknown };
    if (failed.code === 'ENOENT') throw new PortCommandNotFoundError(options.command, options.cwd, failed.cause ?? failed);
    throw new PortSpawnError(options.command, failed.code, failed.cause ?? failed);
  }
  // The result promise duplicates the events used below and, with reject: false, settles with a value.
  subprocess.then(undefined, (error: unknown) => rt.logger.debug({ err: error }, 'port: execa result rejected'));

  const pgid = subprocess.pid;
  const port = new PortInstance(rt, subprocess, pgid, owner, killTimeoutMs);
  // Spawned linked to its owner (a dead owner arrives as EXIT noproc and closes the port), so the port is
  // not a top-level process: runtime.shutdown() stops it through its owner.
  const pid = rt.spawn((message: unknown) => port.receive(message), {
    trapExit: true,
    label: options.label ?? `port:${options.command}`,
    ...(owner === null ? {} : { link: owner }),
  });
  const process = asProcess(pid);
  port.process = process;
  liveGroups.add(pgid);
  rt.watch(process, (reason) => port.onPortDown(reason));

  subprocess.on('exit', (code, signal) => port.onLeaderExit(code, signal));
  subprocess.on('close', () => port.onClosed());
  subprocess.stdio.forEach((stream, fd) => {
    stream?.on('error', (error: NodeJS.ErrnoException) => {
      // EPIPE / ECONNRESET after the OS process exits are expected; anything else is worth a warning.
      const expected = port.leaderExit !== null || error.code === 'EPIPE' || error.code === 'ECONNRESET';
      rt.logger[expected ? 'debug' : 'warn']({ err: error, fd, pid: String(pid) }, `port ${pid}: error on fd ${fd}`);
    });
  });
  if (options.deliverTo !== undefined) {
    const deliverTo = options.deliverTo;
    subprocess.stdout!.on('data', (chunk: Buffer) => {
      const target = rt.resolve(deliverTo);
      if (target !== undefined) rt.send(target, new PortData(pid, chunk));
    });
  }

  const fds: PortFd[] = [];
  for (let fd = 3; fd < 3 + extraFds; fd++) {
    const stream = subprocess.stdio[fd] as (Readable & Writable) | undefined;
    fds.push(stream === undefined ? {} : { readable: stream, writable: stream });
  }
  const handle: PortHandle = {
    pid,
    osPid: pgid,
    stdin: subprocess.stdin!,
    stdout: subprocess.stdout!,
    stderr: subprocess.stderr!,
    fds,
    exited: port.exited,
  };
  HANDLES.set(pid, handle);
  return handle;
}

/**
 * Ports: `open` / `openLink` start an OS process, `command` / `close` talk to its stdin, `childSpec` puts it
 * under a supervisor. The group is killed when the port process dies, and a process-wide `exit` listener
 * SIGKILLs every live group when Node exits by itself (process.exit, an uncaught exception, an empty loop).
 * A SIGKILL of Node cannot be caught, so nothing here runs then: an OS process that must not outlive Node has
 * to notice on its own, as the Python bridge does with PR_SET_PDEATHSIG and EOF on its pipes. A process that
 * leaves the group (setsid, setpgid) escapes the group kill.
 */
export const Port = {
  /**
   * Starts `command` in its own process group and a port process standing for it, linked to no one.
   * Rejects with PortCommandNotFoundError (ENOENT) or PortSpawnError when the OS process cannot start,
   * BadArgumentError for malformed options.
   */
  open(caller: Caller, options: PortOptions): Promise<PortHandle> {
    return openPort(runtimeOf(caller), options, null);
  },

  /**
   * Like open, with the port linked to `parent`, its owner: the port closes (the group is killed) when the
   * owner exits for any reason, and an abnormal exit of the OS process reaches the owner as an exit signal.
   */
  openLink(parent: ProcessContext, options: PortOptions): Promise<PortHandle> {
    return openPort(parent.runtime, options, asProcess(parent.pid));
  },

  /** port_command: writes `data` to the port's stdin, in order with other commands. False if the port is gone. */
  command(caller: Caller, port: Dest, data: string | Uint8Array): boolean {
    const rt = runtimeOf(caller);
    const target = rt.resolve(port);
    return target !== undefined && rt.send(target, { command: data } satisfies PortCommand);
  },

  /** Closes the port's stdin after the commands sent before. False if the port is gone. */
  close(caller: Caller, port: Dest): boolean {
    const rt = runtimeOf(caller);
    const target = rt.resolve(port);
    return target !== undefined && rt.send(target, 'close' satisfies PortCommand);
  },

  /** The handle (streams, osPid, exited) of a port process, e.g. one a supervisor started; undefined if none. */
  handleOf(pid: Pid): PortHandle | undefined {
    return HANDLES.get(pid);
  },

  /**
   * A child spec whose start opens the port linked to the supervisor. Start returns { ok: pid }, or
   * { error } with the spawn error. Keep `killTimeoutMs` below the spec's shutdown timeout (default 5000),
   * so that the SIGTERM grace period runs out before the supervisor's patience does.
   */
  childSpec(id: string, options: PortOptions, spec: Omit<ChildSpec, 'id' | 'start'> = {}): ChildSpec {
    return {
      ...spec,
      id,
      start: async (parent) => {
        try {
          return { ok: (await Port.openLink(parent, options)).pid };
        } catch (error) {
          return { error };
        }
      },
    };
  },
};
