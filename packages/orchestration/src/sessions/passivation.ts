// The Sessions manager: keeps the live sessions in least-recently-used order (each actor casts `started` and
// `touched`; a monitor removes it when it exits) and passivates them: those idle past the TTL at every sweep,
// and the least recently used ones whenever more than maxLive are live. A passivated actor handles the
// request after whatever call it is running, so a session is never stopped mid-call.

import { DynamicSupervisor, Down, GenServer, Registry, runtimeOf, type GenServerBehavior, type Pid, type ProcessContext, type Runtime } from '@dspex/runtime';
import { PASSIVATE, type SessionsConfig } from './session_actor.js';

interface LiveEntry {
  pid: Pid;
  lastUsed: number;
  passivating: boolean;
}

interface ManagerState {
  config: SessionsConfig;
  /** Oldest use first: an entry is moved to the end on every touch. */
  live: Map<string, LiveEntry>;
  /** The id of each monitored actor, for its DOWN. */
  byPid: Map<Pid, string>;
  active: number;
  sweepIntervalMs: number;
}

export type ManagerCast = { started: string; pid: Pid; at: number } | { touched: string; pid: Pid; at: number };
export type ManagerCall = 'sweep' | 'stats';
/** What `sessions.stats()` reports: live session actors and those being passivated. */
export interface SessionsStats {
  /** Live session actors, not counting those being passivated. */
  live: number;
  passivating: number;
}

/** The config of each live Sessions tree, by runtime and name; the facade reads it on every call. */
const configs = new WeakMap<Runtime, Map<string, { pid: Pid; config: SessionsConfig }>>();

export function configsOf(runtime: Runtime): Map<string, { pid: Pid; config: SessionsConfig }> {
  let byName = configs.get(runtime);
  if (byName === undefined) configs.set(runtime, (byName = new Map()));
  return byName;
}

function passivate(self: ProcessContext, state: ManagerState, entry: LiveEntry): void {
  entry.passivating = true;
  state.active--;
  GenServer.cast(self, entry.pid, PASSIVATE);
}

/** Passivates least recently used sessions until at most maxLive are live, sparing `keep`. */
function enforceMaxLive(self: ProcessContext, state: ManagerState, keep?: string): void {
  if (state.active <= state.config.maxLive) return;
  for (const [id, entry] of state.live) {
    if (state.active <= state.config.maxLive) return;
    if (entry.passivating || id === keep) continue;
    passivate(self, state, entry);
  }
}

/** Passivates the sessions unused for ttlMs or more; resolves to how many. */
function sweep(self: ProcessContext, state: ManagerState): number {
  const cutoff = state.config.clock() - state.config.ttlMs;
  let count = 0;
  for (const entry of state.live.values()) {
    if (entry.lastUsed > cutoff) break; // LRU order: the rest are newer
    if (entry.passivating) continue;
    passivate(self, state, entry);
    count++;
  }
  return count;
}

function track(self: ProcessContext, state: ManagerState, id: string, pid: Pid, at: number): void {
  const existing = state.live.get(id);
  if (existing !== undefined && existing.pid === pid) {
    state.live.delete(id);
    existing.lastUsed = at;
    state.live.set(id, existing);
    return;
  }
  if (existing !== undefined && !existing.passivating) state.active--;
  self.monitor(pid);
  state.byPid.set(pid, id);
  state.live.delete(id);
  state.live.set(id, { pid, lastUsed: at, passivating: false });
  state.active++;
}

export const SessionsManager: GenServerBehavior<ManagerState, { config: SessionsConfig; sweepIntervalMs: number }, ManagerCall, number | SessionsStats, ManagerCast> = {
  init({ config, sweepIntervalMs }, self) {
    configsOf(runtimeOf(self)).set(config.name, { pid: self.pid, config });
    return { ok: { config, live: new Map(), byPid: new Map(), active: 0, sweepIntervalMs }, continue: 'adopt' };
  },

  // A restarted manager adopts the sessions already running, as if each had just been used.
  async handleContinue(_arg, state, self) {
    const registry = Registry.of<string, unknown>(self, state.config.registryName);
    for (const child of await DynamicSupervisor.whichChildren(self, state.config.supervisorName)) {
      if (child.pid === undefined || child.pid === 'restarting') continue;
      const id = registry.keys(child.pid)[0];
      if (id !== undefined) track(self, state, id, child.pid, state.config.clock());
    }
    if (Number.isFinite(state.sweepIntervalMs)) runtimeOf(self).sendAfter(self.pid, 'sweep', state.sweepIntervalMs);
    return { noreply: true, state };
  },

  handleCast(message, state, self) {
    if ('started' in message) {
      track(self, state, message.started, message.pid, message.at);
      enforceMaxLive(self, state, message.started);
    } else {
      const entry = state.live.get(message.touched);
      if (entry !== undefined && entry.pid === message.pid) track(self, state, message.touched, message.pid, message.at);
    }
    return { noreply: true, state };
  },

  handleCall(request, _from, state, self) {
    if (request === 'sweep') return { reply: sweep(self, state), state };
    return { reply: { live: state.active, passivating: state.live.size - state.active }, state };
  },

  handleInfo(message, state, self) {
    if (message instanceof Down) {
      const id = state.byPid.get(message.pid);
      state.byPid.delete(message.pid);
      const entry = id === undefined ? undefined : state.live.get(id);
      if (id !== undefined && entry !== undefined && entry.pid === message.pid) {
        state.live.delete(id);
        if (!entry.passivating) state.active--;
      }
    } else if (message === 'sweep') {
      sweep(self, state);
      runtimeOf(self).sendAfter(self.pid, 'sweep', state.sweepIntervalMs);
    }
    return { noreply: true, state };
  },

  terminate(_reason, state, self) {
    const byName = configsOf(runtimeOf(self));
    if (byName.get(state.config.name)?.pid === self.pid) byName.delete(state.config.name);
  },
};
