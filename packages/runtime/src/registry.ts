// Registry: Elixir's Registry. A supervised process owns a key/value table that processes register
// themselves in, with unique or duplicate keys. Reads are synchronous (shared memory, as Elixir's ETS),
// an owner's entries go the moment it exits, and `registry.via(key)` names a process wherever a pid goes.
// As in Elixir, registering links the process and the registry (which traps exits): a registry that dies
// takes the processes registered in it along, unless they trap exits.
//
//   const started = await Registry.start(rt, { keys: 'unique', name: 'sessions' });
//   const sessions = Registry.of(rt, 'sessions');
//   sessions.register(self, 'session:42', { model: 'smollm2' });       // inside the registering process
//   await GenServer.call(rt, sessions.via('session:42'), 'history');

import { BadArgumentError, NoProcError, formatReason } from './errors.js';
import { GenServer, runtimeOf, type Caller, type GenServerBehavior, type StartOptions, type StartResult } from './gen_server.js';
import type { ChildSpec } from './child_spec.js';
import type { Dest, Pid, Process, ProcessContext, ViaName } from './process.js';
import type { ExitReason } from './reasons.js';
import { asProcess, type Runtime } from './runtime.js';

/** A unique registry holds one process per key; a duplicate registry any number. */
export type RegistryKeys = 'unique' | 'duplicate';

/** Options of Registry.start and startLink. */
export interface RegistryOptions {
  keys: RegistryKeys;
  /** Required, as in Elixir: the registry is found by this node-wide name. */
  name: string;
}

/** register's result: the registry's pid, or for a unique key, the process that already holds it. */
export type RegisterResult = { ok: Pid } | { error: { alreadyRegistered: Pid } };
/** What registry.updateValue answers. */
export type UpdateValueResult<V> = { new: V; old: V } | { error: 'not_registered' };
/** What Registry.start answers: StartResult with the registry's handle on success. */
export type RegistryStartResult<K = unknown, V = unknown> = { ok: Pid; registry: Registry<K, V> } | { ignore: true } | { error: ExitReason };

interface Owner<K> {
  /** Keys in registration order, repeated for a duplicate registration. */
  keys: K[];
  hook: (reason: ExitReason) => void;
}

/** The table of one registry process; dropped (cleared) when that process exits. */
class Table<K, V> {
  readonly byKey = new Map<K, Array<{ owner: Process; value: V }>>();
  readonly byOwner = new Map<Process, Owner<K>>();
  size = 0;

  constructor(readonly kind: RegistryKeys, readonly pid: Process) {}

  add(owner: Process, key: K, value: V): void {
    let entries = this.byKey.get(key);
    if (entries === undefined) this.byKey.set(key, (entries = []));
    entries.push({ owner, value });
    this.size++;
    let record = this.byOwner.get(owner);
    if (record === undefined) {
      // An exit hook runs inside the exit itself, before links and monitors fire: no lookup ever sees a dead owner.
      record = { keys: [], hook: () => this.removeOwner(owner) };
      this.byOwner.set(owner, record);
      owner.addExitHook(record.hook);
      owner.runtime.link(this.pid, owner);
    }
    record.keys.push(key);
  }

  /** Removes `owner`'s entries under `key`. */
  remove(owner: Process, key: K): void {
    const record = this.byOwner.get(owner);
    if (record === undefined) return;
    this.dropEntries(owner, key);
    record.keys = record.keys.filter((k) => !sameKey(k, key));
    if (record.keys.length === 0) {
      // Elixir unlinks once the process holds no key here any more.
      this.byOwner.delete(owner);
      owner.removeExitHook(record.hook);
      owner.runtime.unlink(this.pid, owner);
    }
  }

  removeOwner(owner: Process): void {
    const record = this.byOwner.get(owner);
    if (record === undefined) return;
    this.byOwner.delete(owner);
    for (const key of new Set(record.keys)) this.dropEntries(owner, key);
  }

  clear(): void {
    for (const [owner, record] of this.byOwner) owner.removeExitHook(record.hook);
    this.byOwner.clear();
    this.byKey.clear();
    this.size = 0;
  }

  private dropEntries(owner: Process, key: K): void {
    const entries = this.byKey.get(key);
    if (entries === undefined) return;
    const kept = entries.filter((e) => e.owner !== owner);
    this.size -= entries.length - kept.length;
    if (kept.length === 0) this.byKey.delete(key);
    else this.byKey.set(key, kept);
  }
}

/** Map's key equality (SameValueZero), so keys() agrees with lookup(). */
function sameKey(a: unknown, b: unknown): boolean {
  return a === b || (a !== a && b !== b);
}

const TABLES = new WeakMap<Process, Table<unknown, unknown>>();

/** The one call a registry answers: Registry.probe. Any other call crashes it, as Elixir's registry would. */
const PROBE = Symbol('Registry.probe');

const server: GenServerBehavior<null, RegistryKeys, typeof PROBE, number> = {
  init(kind, self) {
    const process = asProcess(self.pid);
    const table = new Table<unknown, unknown>(kind, process);
    TABLES.set(process, table);
    process.addExitHook(() => table.clear());
    return { ok: null };
  },
  handleCall(request, _from, state, self) {
    if (request !== PROBE) throw new BadArgumentError(`a Registry answers no calls but Registry.probe; ${self.pid} got ${formatReason(request)}.`);
    return { reply: TABLES.get(asProcess(self.pid))!.size, state };
  },
  // EXITs of registered processes (we trap exits to stay up when one crashes): their exit hook cleaned up.
  handleInfo: (_message, state) => ({ noreply: true, state }),
};

function validateOptions(options: RegistryOptions): void {
  if (options === null || typeof options !== 'object') throw new BadArgumentError("Registry options must be an object { keys: 'unique' | 'duplicate', name }.");
  if (options.keys !== 'unique' && options.keys !== 'duplicate') throw new BadArgumentError(`Registry keys must be 'unique' or 'duplicate', not ${String(options.keys)}.`);
  if (typeof options.name !== 'string' || options.name.length === 0) throw new BadArgumentError('a Registry needs a name (a non-empty string); it is found by it.');
}

function withRegistry<K, V>(caller: Caller, options: RegistryOptions, result: StartResult): RegistryStartResult<K, V> {
  return 'ok' in result ? { ok: result.ok, registry: Registry.of<K, V>(caller, options.name) } : result;
}

/** A handle on a registry by name: it follows the registry across restarts. Get one from start or Registry.of. */
export class Registry<K = unknown, V = unknown> {
  private table: Table<K, V> | undefined;

  private constructor(
    private readonly runtime: Runtime,
    readonly name: string,
  ) {}

  /**
   * Starts a registry process not linked to the caller. Resolves to { ok: pid, registry } or
   * { error: { alreadyStarted: pid } } when the name is taken; bad options reject with BadArgumentError.
   */
  static async start<K = unknown, V = unknown>(caller: Caller, options: RegistryOptions, extra: StartOptions = {}): Promise<RegistryStartResult<K, V>> {
    validateOptions(options);
    return withRegistry(caller, options, await GenServer.start(caller, server, options.keys, { label: 'Registry', ...extra, name: options.name, trapExit: true }));
  }

  /** Like start, linked to `parent` (a supervisor's child spec passes its parent here). */
  static async startLink<K = unknown, V = unknown>(parent: ProcessContext, options: RegistryOptions, extra: StartOptions = {}): Promise<RegistryStartResult<K, V>> {
    validateOptions(options);
    return withRegistry(parent, options, await GenServer.startLink(parent, server, options.keys, { label: 'Registry', ...extra, name: options.name, trapExit: true }));
  }

  /** A child spec that runs the registry under a supervisor (id: its name). */
  static childSpec(options: RegistryOptions, overrides: Partial<ChildSpec> = {}): ChildSpec {
    validateOptions(options);
    return { id: options.name, start: (parent) => Registry.startLink(parent, options), ...overrides };
  }

  /**
   * Resolves, with the number of entries, once the registry process `dest` (its pid or name) has taken
   * every message sent to it before: a liveness probe for health checks and the testing kit's call hook.
   * Rejects as GenServer.call does (NoProcError, CallTimeoutError, CallExitError).
   */
  static probe(caller: Caller, dest: Dest, timeoutMs = 5000): Promise<number> {
    return GenServer.call<number>(caller, dest, PROBE, timeoutMs);
  }

  /** The registry named `name`. Its operations throw NoProcError while no such registry runs. */
  static of<K = unknown, V = unknown>(caller: Caller, name: string): Registry<K, V> {
    return new Registry<K, V>(runtimeOf(caller), name);
  }

  /** The live table, or undefined when no registry runs under the name. */
  private current(): Table<K, V> | undefined {
    if (this.table !== undefined && this.table.pid.alive) return this.table;
    const pid = this.runtime.whereis(this.name);
    this.table = pid === undefined ? undefined : (TABLES.get(asProcess(pid)) as Table<K, V> | undefined);
    return this.table;
  }

  private require(operation: string): Table<K, V> {
    const table = this.current();
    if (table === undefined) throw new NoProcError(`registry ${this.name}`, operation);
    return table;
  }

  /**
   * Registers the calling process under `key` with `value`. Returns { ok: registryPid }, or for a unique
   * registry whose key is held (by anyone, this process included) { error: { alreadyRegistered: holder } }.
   * Throws NoProcError when the registry is not running.
   */
  register(self: ProcessContext, key: K, value: V): RegisterResult {
    return this.registerProcess(asProcess(self.pid), key, value, 'register');
  }

  private registerProcess(owner: Process, key: K, value: V, operation: string): RegisterResult {
    const table = this.require(operation);
    if (!owner.alive) throw new NoProcError(String(owner), operation);
    if (table.kind === 'unique') {
      const holder = table.byKey.get(key)?.[0];
      if (holder !== undefined) return { error: { alreadyRegistered: holder.owner } };
    }
    table.add(owner, key, value);
    return { ok: table.pid };
  }

  /** Removes every entry of the calling process under `key` (none is fine). Throws NoProcError when the registry is not running. */
  unregister(self: ProcessContext, key: K): void {
    this.require('unregister').remove(asProcess(self.pid), key);
  }

  /** [pid, value] for each entry under `key`, in registration order; [] when none. Throws NoProcError when not running. */
  lookup(key: K): Array<[Pid, V]> {
    const entries = this.require('lookup').byKey.get(key);
    return entries === undefined ? [] : entries.map((e): [Pid, V] => [e.owner, e.value]);
  }

  /** The entries under `key` whose value `pattern` accepts (Elixir's match/3, with a predicate for the pattern). */
  match(key: K, pattern: (value: V) => boolean): Array<[Pid, V]> {
    return this.lookup(key).filter(([, value]) => pattern(value));
  }

  /** The keys `pid` is registered under here ([] when none or dead). Throws NoProcError when not running. */
  keys(pid: Pid): K[] {
    const record = this.require('keys').byOwner.get(asProcess(pid));
    return record === undefined ? [] : [...record.keys];
  }

  /** The number of entries. Throws NoProcError when not running. */
  count(): number {
    return this.require('count').size;
  }

  /**
   * Calls `fn` with the entries under `key`, synchronously, if there are any (Elixir's dispatch/3). An
   * error `fn` throws reaches the caller. Throws NoProcError when not running.
   */
  dispatch(key: K, fn: (entries: Array<[Pid, V]>) => void): void {
    const entries = this.lookup(key);
    if (entries.length > 0) fn(entries);
  }

  /**
   * Unique registries: replaces the calling process's value under `key` with fn(old). Returns { new, old },
   * or { error: 'not_registered' } when the key is not held by the caller. Throws BadArgumentError on a
   * duplicate registry, NoProcError when not running.
   */
  updateValue(self: ProcessContext, key: K, fn: (old: V) => V): UpdateValueResult<V> {
    const table = this.require('updateValue');
    if (table.kind !== 'unique') throw new BadArgumentError(`updateValue works on unique registries only; ${this.name} has duplicate keys.`);
    const entry = table.byKey.get(key)?.[0];
    if (entry === undefined || entry.owner !== asProcess(self.pid)) return { error: 'not_registered' };
    const old = entry.value;
    entry.value = fn(old);
    return { new: entry.value, old };
  }

  /** A name for the process under `key`, usable wherever a pid is (send, GenServer.call/cast/stop, monitor). Unique registries only. */
  via(key: K): ViaName {
    const table = this.current();
    if (table !== undefined && table.kind !== 'unique') throw new BadArgumentError(`via names need a unique registry; ${this.name} has duplicate keys.`);
    return { via: this, key };
  }

  /** The process registered under `key`, or undefined (also when the registry is not running). */
  whereisName(key: K): Pid | undefined {
    const table = this.current();
    if (table === undefined || table.kind !== 'unique') return undefined;
    return table.byKey.get(key)?.[0]?.owner;
  }

  /**
   * Registers `pid` (any live process) under `key`, as a via name does: call it from a GenServer's init to
   * start a server under a via name. Returns false when the key is taken. Throws NoProcError when not running.
   */
  registerName(key: K, pid: Pid, value?: V): boolean {
    return 'ok' in this.registerProcess(asProcess(pid), key, value as V, 'registerName');
  }

  /** Removes whatever process holds `key`. Throws NoProcError when not running. */
  unregisterName(key: K): void {
    const table = this.require('unregisterName');
    for (const entry of table.byKey.get(key) ?? []) table.remove(entry.owner, key);
  }
}
