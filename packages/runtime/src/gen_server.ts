// GenServer: OTP's gen_server on top of a raw process. Contract (callbacks a behaviour implements):
//   init(args, self)                       -> { ok: state, timeout?, continue? } | { ignore: true } | { stop: reason }
//   handleCall(request, from, state, self) -> { reply, state } | { noreply: true, state } | { stop: reason, state, reply? }
//   handleCast(message, state, self)       -> { noreply: true, state } | { stop: reason, state }
//   handleInfo(message, state, self)       -> same as handleCast
//   handleContinue(arg, state, self)       -> same as handleCast
//   terminate(reason, state, self)         -> ignored; called on stop, on a crash, and on the parent's exit when trapping
// Any callback may be async; the server still handles one message at a time.

import { BadArgumentError, CallExitError, DSPexError, CallTimeoutError, CallingSelfError, NoProcError, formatReason } from './errors.js';
import { Process, type Dest, type Pid, type ProcessContext, type ViaName } from './process.js';
import { Exit, type ExitReason } from './reasons.js';
import { Runtime, asProcess, describeDest } from './runtime.js';

type Awaitable<T> = T | Promise<T>;

/** What a callback may add to its result to schedule a timeout or a handleContinue. */
export interface Timing {
  /** gen_server timeout: if no message arrives within this many ms, handleInfo gets 'timeout'. */
  timeout?: number;
  /** Run handleContinue(arg) before the next message. */
  continue?: unknown;
}
/** What init returns: `{ ok: state }` (optionally with Timing), `{ ignore: true }` or `{ stop: reason }`. */
export type InitResult<S> = ({ ok: S } & Timing) | { ignore: true } | { stop: ExitReason };
/** What handleCast, handleInfo and handleContinue return: keep going with a new state, or stop. */
export type NoReplyResult<S> = ({ noreply: true; state: S } & Timing) | { stop: ExitReason; state: S };
/** What handleCall returns: reply now, reply later (noreply + GenServer.reply), or stop (with or without a reply). */
export type CallResult<S, R> = ({ reply: R; state: S } & Timing) | NoReplyResult<S> | { stop: ExitReason; state: S; reply: R };

declare const replyType: unique symbol;
declare const serverProtocol: unique symbol;

/**
 * A request that is answered with `Reply`: make the `Call` type of a behaviour a union of these and
 * GenServer.call infers each request's own reply. A phantom type: a plain `{ op: 'get' }` value is one.
 *
 *   type CounterCall = TypedCall<{ op: 'get' }, number> | TypedCall<{ op: 'reset' }, 'ok'>;
 */
export type TypedCall<Request, Reply> = Request & { readonly [replyType]?: Reply };

/** The replies of a behaviour's Call type: the union of its TypedCall replies, else `unknown`. */
export type RepliesOf<Call> = [Call] extends [never] ? unknown : [AnnouncedReply<Call>] extends [never] ? unknown : AnnouncedReply<Call>;
type AnnouncedReply<Call> = Call extends { readonly [replyType]?: infer R } ? (typeof replyType extends keyof Call ? R : never) : never;

/**
 * The reply GenServer.call gives for request `Q` to a server whose behaviour declares `Call` and `Reply`:
 * the reply of the TypedCall member `Q` matches, else `Reply`.
 */
export type ReplyFor<Call, Reply, Q> = [MatchedReply<Call, Q>] extends [never] ? Reply : MatchedReply<Call, Q>;
type MatchedReply<Call, Q> = Call extends unknown ? (Q extends Call ? (typeof replyType extends keyof Call ? AnnouncedReply<Call> : never) : never) : never;

/** The protocol a typed server reference carries (type-level only). */
export interface ServerProtocol<Call, Reply, Cast> {
  readonly call: Call;
  readonly reply: Reply;
  readonly cast: Cast;
}

/**
 * A pid, name or via-name typed with the protocol of the server behind it: GenServer.start and startLink
 * answer `{ ok: ServerPid }`, GenServer.ref types a name. GenServer.call on it checks the request against
 * the behaviour's Call type and infers the reply; GenServer.cast checks the message against Cast.
 */
export type ServerRef<Call = unknown, Reply = unknown, Cast = unknown> = Dest & { readonly [serverProtocol]: ServerProtocol<Call, Reply, Cast> };
/** The pid of a started server, typed with its protocol (a Pid wherever a Pid is expected). */
export type ServerPid<Call = unknown, Reply = unknown, Cast = unknown> = Pid & { readonly [serverProtocol]: ServerProtocol<Call, Reply, Cast> };
/** A pid or name without a protocol: what the untyped forms of call and cast take. */
type UntypedDest = Dest & { readonly [serverProtocol]?: undefined };

/**
 * The callbacks of a server. Generic parameters, in order: `S` state, `A` the args of init, `Call` the
 * requests handleCall takes, `R` its replies (default: the replies of TypedCall requests, else unknown),
 * `Cast` the messages handleCast takes.
 */
export interface GenServerBehavior<S, A = void, Call = never, R = RepliesOf<Call>, Cast = never> {
  /** Runs in the new process before start resolves; its result decides what start answers. */
  init(args: A, self: ProcessContext): Awaitable<InitResult<S>>;
  /** Answers GenServer.call. */
  handleCall?(request: Call, from: From<R>, state: S, self: ProcessContext): Awaitable<CallResult<S, R>>;
  /** Takes GenServer.cast messages. */
  handleCast?(message: Cast, state: S, self: ProcessContext): Awaitable<NoReplyResult<S>>;
  /** Takes every other message: plain sends, Exit (when trapping), Down, and 'timeout' from Timing. */
  handleInfo?(message: unknown, state: S, self: ProcessContext): Awaitable<NoReplyResult<S>>;
  /** Runs after a callback returned `continue`, before the next message. */
  handleContinue?(arg: unknown, state: S, self: ProcessContext): Awaitable<NoReplyResult<S>>;
  /**
   * Runs when the server stops (a `stop` result, GenServer.stop, a crash), and on its parent's exit signal
   * (a supervisor's shutdown, Runtime.shutdown) only when it traps exits (StartOptions.trapExit): a server
   * that owns a resource must trap exits for this to close it.
   */
  terminate?(reason: ExitReason, state: S, self: ProcessContext): unknown;
}

/**
 * What a start function returns: OTP's {ok, Pid} | {ok, Pid, Info} | ignore | {error, Reason}. A supervisor
 * ignores `info` and hands it back unchanged from startChild and restartChild.
 */
export type StartResult<P extends Pid = Pid> = { ok: P; info?: unknown } | { ignore: true } | { error: ExitReason };

/** Options of GenServer.start and startLink (and of the servers built on it). */
export interface StartOptions {
  /**
   * Register under this node-wide name, or a via-name (`registry.via(key)`), before init runs; if taken,
   * start returns { error: { alreadyStarted: pid } }.
   */
  name?: string | ViaName;
  /** Milliseconds init may take before the server is killed and start returns { error: 'timeout' }. */
  timeout?: number;
  /** Shown in crash reports, processInfo and formatTree (default 'gen_server'). */
  label?: string;
  /**
   * process_flag(trap_exit) from the start. Without it, the parent's exit signal (a supervisor's shutdown,
   * Runtime.shutdown) kills the server at once and terminate never runs: a server that owns a resource (an
   * HTTP server, a file, a child process) must trap exits so that terminate closes it. Default false.
   */
  trapExit?: boolean;
}

/** Code outside processes passes the runtime; code inside a process passes its `self`. */
export type Caller = Runtime | ProcessContext;

/** The caller of a pending call: pass it to GenServer.reply to answer later (a deferred reply). */
export class From<R = unknown> {
  private settled = false;
  /** @internal */
  timer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** @internal */
  cancelWatch: (() => void) | undefined = undefined;
  /** @internal */
  constructor(
    private readonly resolve: (value: R) => void,
    private readonly reject: (error: Error) => void,
  ) {}
  /** Answers the call. Returns false when the caller already gave up (timeout or server exit): a late reply is dropped. */
  reply(value: R): boolean {
    if (this.settled) return false;
    this.finish();
    this.resolve(value);
    return true;
  }
  /** @internal Fails the call with `error` (a timeout, the server's exit). */
  fail(error: Error): void {
    if (this.settled) return;
    this.finish();
    this.reject(error);
  }
  private finish(): void {
    this.settled = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.cancelWatch?.();
  }
}

class CallRequest {
  constructor(readonly request: unknown, readonly from: From<unknown>) {}
}
class CastRequest {
  constructor(readonly message: unknown) {}
}
class StopRequest {
  constructor(readonly reason: ExitReason) {}
}
class ServerTimeout {
  constructor(readonly generation: number) {}
}

/** A callback returned something that is not one of its results (see the contract at the top). */
export class BadReturnError extends DSPexError {
  readonly code = 'DSPEX_BAD_RETURN';
  constructor(callback: string, value: unknown) {
    super(`${callback} returned ${formatReason(value)}, which is not a valid result; see the GenServer contract.`);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as PromiseLike<unknown>).then === 'function';
}

/** Applies `next` to a value or to the value a promise resolves to, staying synchronous when it can. */
function andThen<T>(value: Awaitable<T>, next: (v: T) => unknown, onError: (e: unknown) => unknown): unknown {
  if (isThenable(value)) return (value as Promise<T>).then(next, onError);
  return next(value as T);
}

/** The runtime behind a caller: the Runtime itself, or a process context's runtime. */
export function runtimeOf(caller: Caller): Runtime {
  return caller instanceof Runtime ? caller : caller.runtime;
}

/** The server's process code: decodes call/cast/stop/info messages and applies the behaviour's results. */
class ServerLoop<S> {
  state!: S;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private generation = 0;
  private timerWatched = false;

  constructor(
    private readonly behavior: GenServerBehavior<S, unknown, unknown, unknown, unknown>,
    private readonly args: unknown,
    private readonly parent: Process | null,
    private readonly ack: (result: StartResult) => void,
  ) {}

  init(self: ProcessContext): unknown {
    let result: Awaitable<InitResult<S>>;
    try {
      result = this.behavior.init(this.args, self);
    } catch (error) {
      return this.initFailed(self, error);
    }
    return andThen(
      result,
      (r) => this.initDone(self, r),
      (error) => this.initFailed(self, error),
    );
  }

  private initDone(self: ProcessContext, result: InitResult<S>): unknown {
    if (result !== null && typeof result === 'object' && 'ok' in result) {
      this.state = result.ok;
      this.ack({ ok: self.pid });
      return this.applyTiming(self, result);
    }
    if (result !== null && typeof result === 'object' && 'ignore' in result) {
      this.ack({ ignore: true });
      this.unlinkParent(self);
      asProcess(self.pid).runtime.terminate(asProcess(self.pid), 'normal', false);
      return undefined;
    }
    if (result !== null && typeof result === 'object' && 'stop' in result) {
      this.ack({ error: result.stop });
      this.unlinkParent(self);
      self.exit(result.stop);
      return undefined;
    }
    return this.initFailed(self, new BadReturnError('init', result));
  }

  private initFailed(self: ProcessContext, error: unknown): undefined {
    this.ack({ error });
    this.unlinkParent(self);
    self.exit(error);
    return undefined;
  }

  /**
   * OTP 26's init_fail: the starter learns the outcome from the start result, so a start that did not
   * succeed sends its linked starter no exit signal (a trapping starter gets no EXIT, a plain one survives).
   */
  private unlinkParent(self: ProcessContext): void {
    if (this.parent !== null) self.unlink(this.parent);
  }

  receive(message: unknown, self: ProcessContext): unknown {
    let info: unknown = message;
    if (message instanceof ServerTimeout) {
      // A timeout queued behind a message that arrived first is stale: that message already cancelled it.
      if (message.generation !== this.generation) return undefined;
      this.timer = undefined;
      info = 'timeout';
    } else {
      this.cancelTimeout();
    }
    const b = this.behavior;
    if (message instanceof CallRequest) {
      if (b.handleCall === undefined) return this.crash(self, new BadArgumentError(`${self.pid} has no handleCall; it cannot answer calls.`));
      return this.invoke(self, () => b.handleCall!(message.request, message.from, this.state, self), (r) => this.onCallResult(self, r, message.from));
    }
    if (message instanceof CastRequest) {
      if (b.handleCast === undefined) return this.crash(self, new BadArgumentError(`${self.pid} has no handleCast; it cannot take casts.`));
      return this.invoke(self, () => b.handleCast!(message.message, this.state, self), (r) => this.onNoReply(self, r, 'handleCast'));
    }
    if (message instanceof StopRequest) return this.stop(self, message.reason);
    if (message instanceof Exit && message.from === this.parent) return this.stop(self, message.reason);
    if (b.handleInfo === undefined) {
      asProcess(self.pid).runtime.logger.warn({ pid: String(self.pid) }, `${self.pid} got an unexpected message and has no handleInfo: ${formatReason(info)}`);
      return undefined;
    }
    return this.invoke(self, () => b.handleInfo!(info, this.state, self), (r) => this.onNoReply(self, r, 'handleInfo'));
  }

  private invoke<T>(self: ProcessContext, callback: () => Awaitable<T>, next: (r: T) => unknown): unknown {
    let result: Awaitable<T>;
    try {
      result = callback();
    } catch (error) {
      return this.crash(self, error);
    }
    return andThen(result, (r) => {
      try {
        return next(r);
      } catch (error) {
        return this.crash(self, error);
      }
    }, (error) => this.crash(self, error));
  }

  private onCallResult(self: ProcessContext, result: CallResult<S, unknown>, from: From<unknown>): unknown {
    if (result !== null && typeof result === 'object') {
      if ('stop' in result) {
        this.state = result.state;
        // OTP runs terminate first and replies in its `after`: the caller hears back once terminate is done,
        // and also when terminate crashes.
        if ('reply' in result) {
          const reply = result.reply;
          return this.runTerminate(self, result.stop, () => self.exit(result.stop), () => from.reply(reply));
        }
        return this.stop(self, result.stop);
      }
      if ('noreply' in result) {
        this.state = result.state;
        return this.applyTiming(self, result);
      }
      if ('reply' in result) {
        this.state = result.state;
        from.reply(result.reply);
        return this.applyTiming(self, result);
      }
    }
    return this.crash(self, new BadReturnError('handleCall', result));
  }

  private onNoReply(self: ProcessContext, result: NoReplyResult<S>, callback: string): unknown {
    if (result !== null && typeof result === 'object') {
      if ('stop' in result) {
        this.state = result.state;
        return this.stop(self, result.stop);
      }
      if ('noreply' in result) {
        this.state = result.state;
        return this.applyTiming(self, result);
      }
    }
    return this.crash(self, new BadReturnError(callback, result));
  }

  private applyTiming(self: ProcessContext, timing: Timing): unknown {
    if ('continue' in timing) {
      const b = this.behavior;
      if (b.handleContinue === undefined) return this.crash(self, new BadArgumentError(`${self.pid} returned continue but has no handleContinue.`));
      const arg = timing.continue;
      return this.invoke(self, () => b.handleContinue!(arg, this.state, self), (r) => this.onNoReply(self, r, 'handleContinue'));
    }
    if (timing.timeout !== undefined && Number.isFinite(timing.timeout)) {
      if (!this.timerWatched) {
        // A kill skips terminate: the pending timeout is cleared by the exit itself, so none outlives it.
        this.timerWatched = true;
        const process = asProcess(self.pid);
        process.runtime.watch(process, () => this.cancelTimeout());
      }
      const generation = ++this.generation;
      this.timer = setTimeout(() => self.send(self.pid, new ServerTimeout(generation)), timing.timeout);
    }
    return undefined;
  }

  /** Any message cancels a pending gen_server timeout, including one whose timer already fired. */
  private cancelTimeout(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.generation++;
  }

  /** Orderly stop: terminate(reason), then exit with reason. */
  private stop(self: ProcessContext, reason: ExitReason): unknown {
    return this.runTerminate(self, reason, () => self.exit(reason));
  }

  /** A callback threw: OTP still calls terminate with the error, then the process exits with it. */
  private crash(self: ProcessContext, error: unknown): unknown {
    return this.runTerminate(self, error, () => self.exit(error));
  }

  /** Runs terminate(reason), then `then`; `after` runs once terminate is over, whether it returned or threw. */
  private runTerminate(self: ProcessContext, reason: ExitReason, then: () => void, after?: () => void): unknown {
    if (this.timer !== undefined) clearTimeout(this.timer);
    const terminate = this.behavior.terminate;
    const failed = (error: unknown): void => {
      after?.();
      self.exit(error);
    };
    const done = (): void => {
      after?.();
      then();
    };
    if (terminate === undefined) return done();
    let result: unknown;
    try {
      result = terminate.call(this.behavior, reason, this.state, self);
    } catch (error) {
      failed(error);
      return undefined;
    }
    return andThen(result, done, failed);
  }
}

/** OTP's gen_server: start a behaviour in a process, call it (request and reply), cast to it, stop it. */
export const GenServer = {
  /**
   * Starts a server not linked to anyone. Resolves once init has run (OTP's init_ack). Started from outside
   * any process (caller = the runtime), the outside world is its parent: an exit signal sent from outside
   * (rt.exit, Runtime.shutdown) stops a server that traps exits through terminate, as its parent's would.
   */
  start<S, A, Call, R, Cast>(caller: Caller, behavior: GenServerBehavior<S, A, Call, R, Cast>, args: A, options: StartOptions = {}): Promise<StartResult<ServerPid<Call, R, Cast>>> {
    const rt = runtimeOf(caller);
    return startServer(rt, behavior as unknown as AnyBehavior, args, options, null, caller instanceof Runtime ? rt.root : null) as Promise<StartResult<ServerPid<Call, R, Cast>>>;
  },

  /** Starts a server linked to `parent` (start_link). An EXIT from the parent stops it when it traps exits. */
  startLink<S, A, Call, R, Cast>(parent: ProcessContext, behavior: GenServerBehavior<S, A, Call, R, Cast>, args: A, options: StartOptions = {}): Promise<StartResult<ServerPid<Call, R, Cast>>> {
    const parentProcess = asProcess(parent.pid);
    return startServer(parent.runtime, behavior as unknown as AnyBehavior, args, options, parentProcess, parentProcess) as Promise<StartResult<ServerPid<Call, R, Cast>>>;
  },

  /**
   * Types a name, via-name or pid with the protocol of `B` (a behaviour type, `typeof counter`), so that
   * call and cast on it are checked and their replies inferred. No check at run time: it returns `dest`.
   */
  ref<B extends GenServerBehavior<any, any, any, any, any>>(dest: Dest): ServerRef<CallOf<B>, ReplyOf<B>, CastOf<B>> {
    return dest as ServerRef<CallOf<B>, ReplyOf<B>, CastOf<B>>;
  },

  /**
   * Calls the server and waits for its reply. Rejects with NoProcError if it does not exist,
   * CallTimeoutError after `timeoutMs` (default 5000; Infinity waits forever), or CallExitError carrying
   * its exit reason if it exits before replying. On a typed reference (ServerPid, ServerRef) the request is
   * checked against the behaviour's Call type and the reply typed by ReplyFor; on a plain pid or name the
   * reply is `unknown` unless given: `GenServer.call<Info>(rt, 'lm', 'info')`.
   */
  call: callServer as {
    <Call, Reply, Cast, const Q extends Call>(caller: Caller, dest: ServerRef<Call, Reply, Cast>, request: Q, timeoutMs?: number): Promise<ReplyFor<Call, Reply, Q>>;
    <R = unknown>(caller: Caller, dest: UntypedDest, request: unknown, timeoutMs?: number): Promise<R>;
  },

  /**
   * Sends a request without waiting. As in OTP, a cast to a dead server or unknown name is silently dropped.
   * On a typed reference the message is checked against the behaviour's Cast type.
   */
  cast: castServer as {
    <Call, Reply, Cast>(caller: Caller, dest: ServerRef<Call, Reply, Cast>, message: NoInfer<Cast>): void;
    (caller: Caller, dest: UntypedDest, message: unknown): void;
  },

  /** Answers a call whose handler returned noreply. Returns false if the caller already gave up. */
  reply<R>(from: From<R>, value: R): boolean {
    return from.reply(value);
  },

  /**
   * Stops the server: it runs terminate(reason) and exits with `reason`. Resolves when it has exited;
   * NoProcError if it is not running; CallTimeoutError if it has not exited within `timeoutMs`;
   * CallingSelfError when a server stops itself this way (return `{ stop }` instead); BadArgumentError,
   * before anything is sent, for a timeout other than Infinity or an integer >= 0.
   */
  stop(caller: Caller, dest: Dest, reason: ExitReason = 'normal', timeoutMs = Infinity): Promise<void> {
    // gen:stop's guard: only infinity or an integer >= 0, checked before anything is sent.
    if (timeoutMs !== Infinity && !(Number.isInteger(timeoutMs) && timeoutMs >= 0)) {
      return Promise.reject(new BadArgumentError(`GenServer.stop takes a timeout of Infinity or an integer >= 0 ms, not ${formatReason(timeoutMs)}.`));
    }
    const rt = runtimeOf(caller);
    const target = rt.resolve(dest);
    if (target === undefined) return Promise.reject(new NoProcError(describeDest(dest), 'stop'));
    // A server waiting for its own exit would wait forever (Elixir's GenServer.stop exits with calling_self).
    const self = caller instanceof Runtime ? rt.current : asProcess(caller.pid);
    if (self === target) return Promise.reject(new CallingSelfError(String(target), 'stop'));
    return new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const cancel = rt.watch(target, (exitReason) => {
        clearTimeout(timer);
        if (exitReason === reason) resolve();
        else reject(new CallExitError(describeDest(dest), exitReason));
      });
      if (Number.isFinite(timeoutMs)) {
        timer = setTimeout(() => {
          cancel();
          reject(new CallTimeoutError(describeDest(dest), timeoutMs));
        }, timeoutMs);
      }
      rt.send(target, new StopRequest(reason));
    });
  },
};

type AnyBehavior = GenServerBehavior<unknown, unknown, unknown, unknown, unknown>;

type CallOf<B> = B extends { handleCall?(request: infer C, ...rest: never[]): unknown } ? C : never;
type ReplyOf<B> = B extends { handleCall?(request: never, from: From<infer R>, ...rest: never[]): unknown } ? R : unknown;
type CastOf<B> = B extends { handleCast?(message: infer K, ...rest: never[]): unknown } ? K : never;

function castServer(caller: Caller, dest: Dest, message: unknown): void {
  const rt = runtimeOf(caller);
  const target = rt.resolve(dest);
  if (target !== undefined) rt.send(target, new CastRequest(message));
}

function callServer(caller: Caller, dest: Dest, request: unknown, timeoutMs = 5000): Promise<unknown> {
  const rt = runtimeOf(caller);
  const target = rt.resolve(dest);
  if (target === undefined) return Promise.reject(new NoProcError(describeDest(dest), 'call'));
  const self = caller instanceof Runtime ? rt.current : asProcess(caller.pid);
  if (self === target) return Promise.reject(new CallingSelfError(String(target)));
  return new Promise<unknown>((resolve, reject) => {
    const from = new From<unknown>(resolve, reject);
    from.cancelWatch = rt.watch(target, (reason) => from.fail(new CallExitError(describeDest(dest), reason)));
    if (Number.isFinite(timeoutMs)) {
      from.timer = setTimeout(() => from.fail(new CallTimeoutError(describeDest(dest), timeoutMs)), timeoutMs);
    }
    rt.send(target, new CallRequest(request, from));
  });
}

/** Registers a just-spawned, not yet run server under `via`; on failure ends it and answers the starter. */
function registerVia(rt: Runtime, via: ViaName, process: Process, link: Process | null, resolve: (result: StartResult) => void): boolean {
  let registered: boolean;
  try {
    registered = via.via.registerName!(via.key, process);
  } catch (error) {
    if (link !== null) rt.unlink(link, process);
    rt.terminate(process, 'normal', false);
    resolve({ error });
    return false;
  }
  if (registered) return true;
  if (link !== null) rt.unlink(link, process);
  rt.terminate(process, 'normal', false);
  const holder = via.via.whereisName(via.key);
  resolve({ error: holder === undefined ? { alreadyRegistered: via.key } : { alreadyStarted: holder } });
  return false;
}

function startServer(
  rt: Runtime,
  behavior: AnyBehavior,
  args: unknown,
  options: StartOptions,
  link: Process | null,
  parent: Process | null,
): Promise<StartResult> {
  if (behavior === null || typeof behavior !== 'object' || typeof behavior.init !== 'function') {
    return Promise.reject(new BadArgumentError('GenServer.start expects a behaviour object with an init(args, self) method.'));
  }
  const name = options.name;
  const via = name === undefined || typeof name === 'string' ? undefined : name;
  if (via !== undefined && typeof via.via?.registerName !== 'function') {
    return Promise.reject(new BadArgumentError('StartOptions.name takes a string or a via-name whose registry has registerName (registry.via(key)).'));
  }
  if (name !== undefined) {
    const holder = via === undefined ? rt.whereis(name as string) : via.via.whereisName(via.key);
    if (holder !== undefined) return Promise.resolve({ error: { alreadyStarted: holder } });
  }
  return new Promise<StartResult>((resolve) => {
    let acked = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let cancelWatch: (() => void) | undefined;
    const ack = (result: StartResult): void => {
      if (acked) return;
      acked = true;
      clearTimeout(timer);
      cancelWatch?.();
      resolve(result);
    };
    const loop = new ServerLoop(behavior, args, parent, ack);
    const pid = rt.spawn(
      { init: (self) => loop.init(self), receive: (message: unknown, self) => loop.receive(message, self) },
      {
        ...(link === null ? {} : { link }),
        ...(typeof name === 'string' ? { name } : {}),
        ...(options.trapExit === undefined ? {} : { trapExit: options.trapExit }),
        label: options.label ?? 'gen_server',
      },
    );
    // A via-name is taken before init runs, as gen:start registers before calling init.
    if (via !== undefined && !registerVia(rt, via, asProcess(pid), link, resolve)) return;
    // A server that dies before acking (killed, or its parent's exit signal) still answers the starter.
    if (!acked) cancelWatch = rt.watch(asProcess(pid), (reason) => ack({ error: reason }));
    if (options.timeout !== undefined && Number.isFinite(options.timeout)) {
      timer = setTimeout(() => {
        if (acked) return;
        if (link !== null) rt.unlink(link, pid);
        ack({ error: 'timeout' }); // before the kill, whose exit would otherwise answer first with 'killed'
        rt.exit(pid, 'kill');
      }, options.timeout);
    }
  });
}
