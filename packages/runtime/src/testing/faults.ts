// Fault injection: exit signals, crashes now or on the Nth message, and delayed or dropped messages. The
// message faults share the runtime's one interceptor slot through a chain: a message passes each installed
// fault in the order they were installed until one drops, delays or crashes it. Each returns its undo.

import { BadArgumentError } from '../errors.js';
import type { Dest, Pid } from '../process.js';
import type { ExitReason } from '../reasons.js';
import { asProcess, type Interceptor, type Runtime } from '../runtime.js';
import { awaitDown } from './observe.js';
import { seededRandom } from './random.js';

type Verdict = ReturnType<Interceptor>;
/** A fault in the chain: a verdict for the message, or undefined to pass it on. */
type Fault = (to: Pid, message: unknown) => Verdict | undefined;

interface Chain {
  faults: Fault[];
  /** The interceptor that was installed before the chain (called last), restored when the chain empties. */
  previous: Interceptor | null;
  interceptor: Interceptor;
}

const chains = new WeakMap<Runtime, Chain>();

function install(rt: Runtime, fault: Fault): () => void {
  let chain = chains.get(rt);
  if (chain === undefined) {
    const faults: Fault[] = [];
    const previous = rt.interceptor;
    const interceptor: Interceptor = (to, message) => {
      for (const f of faults) {
        const verdict = f(to, message);
        if (verdict !== undefined && verdict !== 'deliver') return verdict;
      }
      return previous === null ? 'deliver' : previous(to, message);
    };
    chain = { faults, previous, interceptor };
    chains.set(rt, chain);
    rt.interceptor = interceptor;
  }
  const owner = chain;
  owner.faults.push(fault);
  let undone = false;
  return () => {
    if (undone) return;
    undone = true;
    const at = owner.faults.indexOf(fault);
    if (at >= 0) owner.faults.splice(at, 1);
    if (owner.faults.length === 0 && chains.get(rt) === owner) {
      chains.delete(rt);
      if (rt.interceptor === owner.interceptor) rt.interceptor = owner.previous;
    }
  };
}

/** Which messages a fault applies to: those to `to` (a pid, name or via-name, resolved per message) that `match`. */
export interface MessageFilter {
  to?: Dest;
  match?: (message: unknown) => boolean;
}

function selects(rt: Runtime, filter: MessageFilter, to: Pid, message: unknown): boolean {
  if (filter.to !== undefined && rt.resolve(filter.to) !== to) return false;
  return filter.match === undefined || filter.match(message);
}

/**
 * Sends the exit signal `reason` (default 'kill', which cannot be trapped) to `pid` and resolves to its exit
 * reason once it is down ('killed' for 'kill'). A process that traps exits gets any other reason as an EXIT
 * message and may live on; the promise then resolves whenever it does exit.
 */
export function kill(rt: Runtime, pid: Pid, reason: ExitReason = 'kill'): Promise<ExitReason> {
  const down = awaitDown(rt, pid);
  rt.exit(pid, reason);
  return down;
}

/** Ends `pid` now with `reason`, as if its own code had called exit(reason): no trapping, a crash report if abnormal. */
export function crash(rt: Runtime, pid: Pid, reason: ExitReason): void {
  const process = asProcess(pid);
  if (process.alive) rt.terminate(process, reason, true);
}

/**
 * The process crashes with `reason` on the `n`th message sent to it from now: messages before it are handled
 * as usual, and when it comes to the `n`th in its mailbox it exits instead of handling it (at once if it is
 * waiting in a selective receive). Counts the messages that reach this fault in the chain. Returns an undo.
 */
export function crashOnNth(rt: Runtime, pid: Pid, n: number, reason: ExitReason = new Error(`injected crash on message ${n}`)): () => void {
  if (!Number.isInteger(n) || n < 1) throw new BadArgumentError(`crashOnNth counts from 1; got ${n}.`);
  const target = asProcess(pid);
  let seen = 0;
  const undo = install(rt, (to) => {
    if (to !== target || ++seen < n) return undefined;
    undo();
    return { crash: reason };
  });
  return undo;
}

/**
 * Delivers the selected messages `delayMs` later (a real timer: ordering changes, nothing is lost unless the
 * receiver exits meanwhile). A delayed message skips the faults installed after this one. Returns an undo.
 */
export function delayMessages(rt: Runtime, options: MessageFilter & { delayMs: number }): () => void {
  const { delayMs } = options;
  if (!(delayMs >= 0)) throw new BadArgumentError(`delayMs must be a non-negative number, not ${delayMs}.`);
  return install(rt, (to, message) => (selects(rt, options, to, message) ? { delayMs } : undefined));
}

/**
 * Drops each selected message with `probability`, decided by a PRNG seeded with `seed` (default 1), so the
 * same run drops the same messages. Each drop emits `message_dropped`. Returns an undo.
 */
export function dropMessages(rt: Runtime, options: MessageFilter & { probability: number; seed?: number }): () => void {
  const { probability } = options;
  if (!(probability >= 0 && probability <= 1)) throw new BadArgumentError(`probability must be within [0, 1], not ${probability}.`);
  const random = seededRandom(options.seed ?? 1);
  return install(rt, (to, message) => (selects(rt, options, to, message) && random() < probability ? 'drop' : undefined));
}
