// A reference model of a static supervisor (one_for_one, one_for_all, rest_for_one), written from OTP's
// supervisor.erl: which children it keeps in which order, which run, how often each child's exits caused a
// restart, and when restart intensity ends it. Pure and synchronous: a model-based test compares it with the
// real Supervisor after every step (supervisor_commands.ts).

import type { Restart } from '../child_spec.js';
import { isNormalExit, type ExitReason } from '../reasons.js';

/** The strategies SupervisorModel covers. */
export type ModelStrategy = 'one_for_one' | 'one_for_all' | 'rest_for_one';

/** A child as SupervisorModel sees it. */
export interface ModelChild {
  readonly id: string;
  readonly restart: Restart;
  /** The running incarnation (each start gets a fresh number), or null when not running. */
  incarnation: number | null;
}

/** What the supervisor did with an EXIT (OTP's do_restart). */
export type ExitOutcome =
  | 'restarted' // restarted by strategy
  | 'stopped' // not restarted; the spec is kept with no pid
  | 'removed' // a temporary child: spec forgotten
  | 'stale' // not from a current child: an incarnation that was already replaced, stopped or flushed
  | 'gave_up'; // more than `intensity` restarts within the period: the supervisor stopped

/**
 * An executable statement of what supervisor.erl does with an exit: the reference a real supervisor is
 * compared with.
 */
export class SupervisorModel {
  alive = true;
  /** Why the supervisor stopped, when it did. */
  stopReason: 'reached_max_restart_intensity' | null = null;
  /** The fake clock, in ms, as the real runtime's clock. */
  now = 0;
  readonly children: ModelChild[] = [];
  /** Times of restarts within the period, oldest first (OTP's #state.restarts). */
  private restartTimes: number[] = [];
  private nextIncarnation = 1;
  /** Calls answered per incarnation: a restarted child starts from fresh state. */
  private readonly calls = new Map<number, number>();
  /** Restarts each child id's exits caused (the supervisor's 'restart' events per id; kept across deletes). */
  readonly restarts = new Map<string, number>();

  constructor(
    readonly strategy: ModelStrategy,
    readonly intensity: number,
    readonly periodMs: number,
    initial: ReadonlyArray<{ id: string; restart: Restart }>,
  ) {
    for (const { id, restart } of initial) this.children.push({ id, restart, incarnation: this.fresh() });
  }

  find(id: string): ModelChild | undefined {
    return this.children.find((c) => c.id === id);
  }

  /** The incarnation `id` runs now, or null. */
  running(id: string): number | null {
    return this.find(id)?.incarnation ?? null;
  }

  callsTo(incarnation: number): number {
    return this.calls.get(incarnation) ?? 0;
  }

  /** Records a call answered by `incarnation`; returns how many it had answered before. */
  called(incarnation: number): number {
    const before = this.callsTo(incarnation);
    this.calls.set(incarnation, before + 1);
    return before;
  }

  advance(ms: number): void {
    this.now += ms;
  }

  // --- The supervisor's side: EXIT handling ---

  /** Incarnation `incarnation` of `id` exited with `reason` and its EXIT reached the supervisor. */
  childExited(id: string, incarnation: number, reason: ExitReason): ExitOutcome {
    const child = this.find(id);
    if (!this.alive || child === undefined || child.incarnation !== incarnation) return 'stale';
    if (child.restart === 'permanent' || (child.restart === 'transient' && !isNormalExit(reason))) {
      if (!this.addRestart()) {
        this.stopAll();
        this.stopReason = 'reached_max_restart_intensity';
        return 'gave_up';
      }
      this.restarts.set(id, (this.restarts.get(id) ?? 0) + 1);
      this.restartByStrategy(child);
      return 'restarted';
    }
    this.stopOne(child);
    return child.restart === 'temporary' ? 'removed' : 'stopped';
  }

  /** OTP's add_restart: keep restarts no older than the period; more than `intensity` of them is too many. */
  private addRestart(): boolean {
    this.restartTimes.push(this.now);
    this.restartTimes = this.restartTimes.filter((t) => this.now - t <= this.periodMs);
    return this.restartTimes.length <= this.intensity;
  }

  private restartByStrategy(child: ModelChild): void {
    if (this.strategy === 'one_for_one') {
      child.incarnation = this.fresh();
      return;
    }
    // one_for_all: every other child; rest_for_one: those started after it. They stop right to left
    // (temporary ones are forgotten, as in OTP's terminate_children), then all that remain of the group,
    // the exited child included, start again left to right.
    child.incarnation = null;
    const at = this.children.indexOf(child);
    const group = this.strategy === 'one_for_all' ? [...this.children] : this.children.slice(at);
    for (const other of [...group].reverse()) if (other !== child) this.stopOne(other);
    for (const member of group) if (this.children.includes(member)) member.incarnation = this.fresh();
  }

  /** Stops a child: a temporary child's spec goes with it; others keep their spec with no pid. */
  private stopOne(child: ModelChild): void {
    child.incarnation = null;
    if (child.restart === 'temporary') this.children.splice(this.children.indexOf(child), 1);
  }

  private stopAll(): void {
    this.alive = false;
    for (const child of this.children) child.incarnation = null;
  }

  private fresh(): number {
    return this.nextIncarnation++;
  }

  // --- The API: what each call replies ---

  startChild(id: string, restart: Restart): 'ok' | 'already_present' | 'already_started' {
    const existing = this.find(id);
    if (existing !== undefined) return existing.incarnation === null ? 'already_present' : 'already_started';
    this.children.push({ id, restart, incarnation: this.fresh() });
    return 'ok';
  }

  terminateChild(id: string): 'ok' | 'not_found' {
    const child = this.find(id);
    if (child === undefined) return 'not_found';
    this.stopOne(child);
    return 'ok';
  }

  restartChild(id: string): 'ok' | 'running' | 'not_found' {
    const child = this.find(id);
    if (child === undefined) return 'not_found';
    if (child.incarnation !== null) return 'running';
    child.incarnation = this.fresh();
    return 'ok';
  }

  deleteChild(id: string): 'ok' | 'running' | 'not_found' {
    const child = this.find(id);
    if (child === undefined) return 'not_found';
    if (child.incarnation !== null) return 'running';
    this.children.splice(this.children.indexOf(child), 1);
    return 'ok';
  }
}
