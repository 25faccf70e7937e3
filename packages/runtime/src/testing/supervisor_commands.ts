// Model-based chaos tests of a supervisor: fast-check commands that start, crash, kill, terminate, restart,
// delete and call children, advance the fake clock and run batches of these concurrently in an order an
// fc.scheduler() picks; after each one the real Supervisor is compared with SupervisorModel.

import fc from 'fast-check';
import type { ChildSpec } from '../child_spec.js';
import { CallExitError, NoProcError, formatReason } from '../errors.js';
import type { Pid } from '../process.js';
import type { ExitReason } from '../reasons.js';
import type { Runtime } from '../runtime.js';
import { Supervisor } from '../supervisor.js';
import { arbExitReason } from './arbitraries.js';
import { crashOnNth } from './faults.js';
import { awaitDown } from './observe.js';
import { adopt, callHookFor, callOp, crashOp, deleteOp, differs, killOp, restartOp, show, startOp, terminateOp, type Op, type Verify } from './supervisor_ops.js';
import { SupervisorModel, type ModelStrategy } from './supervisor_model.js';
import { createTestRuntime, type TestRuntime, type TestRuntimeOptions } from './test_runtime.js';

/** The tree under test: a static supervisor and the children the commands may add. */
export interface SupervisorModelConfig {
  strategy: ModelStrategy;
  intensity: number;
  /** Seconds, as in Supervisor flags. */
  period: number;
  /** The children it starts with. Their start must succeed, and they must exit only when told to. */
  children: ChildSpec[];
  /** Specs startChild commands pick from (default: `children`). */
  catalog?: ChildSpec[];
  /**
   * Calls a running child and resolves once it answered; throw to fail the test. `callsBefore` is how many
   * calls this incarnation answered before: a restarted child starts from fresh state. No call commands without it.
   */
  call?: (rt: Runtime, pid: Pid, child: { id: string; callsBefore: number }) => Promise<void>;
  /**
   * The ids of the children `call` may be given (default: every child). Leave out those that answer no
   * calls, a Registry for instance (or probe it in `call` with Registry.probe): they still get crashes,
   * kills and the other commands, and crash-on-next-message sends them a plain message instead of a call.
   */
  answersCalls?: readonly string[];
  /** Longest command sequence (default 30). */
  maxCommands?: number;
  /** Include batches of concurrent steps (default true; their order comes from the run's fc.Scheduler). */
  batches?: boolean;
}

/** The real side of the model run. */
export interface SupervisorSystem {
  readonly rt: TestRuntime;
  readonly sup: Pid;
  readonly config: SupervisorModelConfig;
  readonly scheduler: fc.Scheduler | undefined;
  /** The pid of each incarnation seen so far. */
  readonly pids: Map<number, Pid>;
  readonly seen: Set<Pid>;
  /** 'restart' telemetry of this supervisor, per child id. */
  readonly restartEvents: Map<string, number>;
  readonly shutdownEvents: string[];
}

/** One fast-check command of a supervisor model run (a crash, a kill, a terminateChild, ...). */
export type SupervisorCommand = fc.AsyncCommand<SupervisorModel, SupervisorSystem>;

// --- Steps: one op, or a batch in scheduler order, then a comparison of the whole state ---

async function runStep(ops: readonly Op[], model: SupervisorModel, real: SupervisorSystem): Promise<void> {
  const snapshot = new Map<string, number>();
  for (const child of model.children) if (child.incarnation !== null) snapshot.set(child.id, child.incarnation);
  const outcomes: Array<Promise<Verify>> = [];
  const issue = (op: Op): void => {
    outcomes.push(op.issue(model, real, snapshot));
  };
  const scheduler = real.scheduler;
  if (ops.length === 1 || scheduler === undefined) {
    for (const op of ops) issue(op);
  } else {
    const released = ops.map((op) => scheduler.schedule(Promise.resolve(op.label), op.label).then(() => issue(op)));
    await scheduler.waitFor(Promise.all(released));
  }
  const verifiers = await Promise.all(outcomes);
  for (const verify of verifiers) verify(model);
  await compare(model, real, ops.map((op) => op.label).join(', '));
}

/** Compares the whole state: children and order, who runs (and as which process), restart counts, liveness. */
async function compare(model: SupervisorModel, real: SupervisorSystem, step: string): Promise<void> {
  const { rt, sup } = real;
  if (!model.alive) {
    let children: unknown;
    try {
      children = await Supervisor.whichChildren(rt, sup);
    } catch (error) {
      if (!(error instanceof CallExitError || error instanceof NoProcError)) throw error;
    }
    if (children !== undefined) throw differs(step, 'supervisor', `stopped (${model.stopReason})`, `running with ${show(children)}`);
    const reason = await awaitDown(rt, sup);
    if (reason !== 'shutdown') throw differs(step, 'supervisor exit reason', 'shutdown', reason);
    if (!real.shutdownEvents.includes(model.stopReason ?? '')) throw differs(step, 'supervisor_shutdown event', model.stopReason, real.shutdownEvents);
    for (const pid of real.seen) if (rt.isAlive(pid)) throw differs(step, `child ${pid}`, 'stopped with its supervisor', 'alive');
    return;
  }
  let children;
  try {
    children = await Supervisor.whichChildren(rt, sup);
  } catch (error) {
    throw differs(step, 'supervisor', 'running', error);
  }
  const modelIds = model.children.map((c) => c.id);
  const realIds = children.map((c) => c.id);
  if (modelIds.join('\u0000') !== realIds.join('\u0000')) throw differs(step, 'children', modelIds, realIds);
  const current = new Set<Pid>();
  model.children.forEach((child, i) => {
    const pid = children[i]!.pid;
    if (child.incarnation === null) {
      if (pid !== undefined) throw differs(step, `child ${child.id}`, 'not running', pid === 'restarting' ? 'restarting' : `running as ${pid}`);
      return;
    }
    if (typeof pid !== 'object') throw differs(step, `child ${child.id}`, 'running', pid ?? 'not running');
    const known = real.pids.get(child.incarnation);
    if (known === undefined) adopt(real, child.incarnation, pid, step);
    else if (known !== pid) throw differs(step, `child ${child.id}`, `still ${known}`, `${pid} (restarted)`);
    current.add(pid);
  });
  for (const pid of real.seen) {
    if (!current.has(pid) && rt.isAlive(pid)) throw differs(step, `old process ${pid}`, 'exited', 'alive');
  }
  for (const id of new Set([...model.restarts.keys(), ...real.restartEvents.keys()])) {
    const expected = model.restarts.get(id) ?? 0;
    const actual = real.restartEvents.get(id) ?? 0;
    if (expected !== actual) throw differs(step, `restarts of ${id}`, expected, actual);
  }
}

class Step implements SupervisorCommand {
  constructor(private readonly ops: readonly Op[]) {}
  check(model: Readonly<SupervisorModel>): boolean {
    if (!model.alive) return false;
    const only = this.ops.length === 1 ? this.ops[0]!.needsRunning : undefined;
    return only === undefined || model.running(only) !== null;
  }
  run(model: SupervisorModel, real: SupervisorSystem): Promise<void> {
    return runStep(this.ops, model, real);
  }
  toString(): string {
    return this.ops.length === 1 ? this.ops[0]!.label : `batch(${this.ops.map((op) => op.label).join(', ')})`;
  }
}

/** The child crashes on the next message it gets (crashOnNth): a call to it fails, the supervisor reacts. */
class CrashOnMessage implements SupervisorCommand {
  constructor(private readonly id: string, private readonly reason: ExitReason) {}
  check(model: Readonly<SupervisorModel>): boolean {
    return model.alive && model.running(this.id) !== null;
  }
  async run(model: SupervisorModel, real: SupervisorSystem): Promise<void> {
    const incarnation = model.running(this.id)!;
    const pid = real.pids.get(incarnation)!;
    crashOnNth(real.rt, pid, 1, this.reason);
    const call = callHookFor(real.config, this.id);
    if (call === undefined) {
      real.rt.send(pid, 'crash-on-this');
    } else {
      const answered = await call(real.rt, pid, { id: this.id, callsBefore: model.callsTo(incarnation) }).then(
        () => true,
        () => false,
      );
      if (answered) throw differs(this.toString(), 'the call', 'failed: the child crashed on it', 'answered');
    }
    const reason = await awaitDown(real.rt, pid);
    if (reason !== this.reason) throw differs(this.toString(), 'exit reason', this.reason, reason);
    model.childExited(this.id, incarnation, reason);
    await compare(model, real, this.toString());
  }
  toString(): string {
    return `crashOnNextMessage(${this.id}, ${show(this.reason)})`;
  }
}

class AdvanceClock implements SupervisorCommand {
  constructor(private readonly ms: number) {}
  check(model: Readonly<SupervisorModel>): boolean {
    return model.alive;
  }
  async run(model: SupervisorModel, real: SupervisorSystem): Promise<void> {
    model.advance(this.ms);
    real.rt.advanceClock(this.ms);
  }
  toString(): string {
    return `advanceClock(${this.ms})`;
  }
}

/** Random command sequences for `config` (see SupervisorModelConfig); run each with runSupervisorModel. */
export function supervisorCommands(config: SupervisorModelConfig): fc.Arbitrary<Iterable<SupervisorCommand>> {
  const catalog = config.catalog ?? config.children;
  const ids = [...new Set([...config.children, ...catalog].map((spec) => spec.id))];
  if (ids.length === 0) throw new RangeError('supervisorCommands needs at least one child spec in children or catalog.');
  const id = fc.constantFrom(...ids);
  const reason = arbExitReason();
  const periodMs = config.period * 1000;
  const ops: Array<fc.WeightedArbitrary<Op>> = [
    { weight: 4, arbitrary: fc.tuple(id, reason).map(([i, r]) => crashOp(i, r)) },
    { weight: 1, arbitrary: id.map(killOp) },
    { weight: 1, arbitrary: id.map(terminateOp) },
    { weight: 1, arbitrary: id.map(restartOp) },
    { weight: 1, arbitrary: id.map(deleteOp) },
  ];
  if (catalog.length > 0) ops.push({ weight: 2, arbitrary: fc.constantFrom(...catalog).map(startOp) });
  const callable = config.call === undefined ? [] : ids.filter((i) => callHookFor(config, i) !== undefined);
  if (callable.length > 0) ops.push({ weight: 2, arbitrary: fc.constantFrom(...callable).map(callOp) });
  const op = fc.oneof(...ops);
  const commands: Array<fc.WeightedArbitrary<SupervisorCommand>> = [
    { weight: 8, arbitrary: op.map((o) => new Step([o])) },
    { weight: 1, arbitrary: fc.tuple(id, reason).map(([i, r]) => new CrashOnMessage(i, r)) },
    // The period's edges matter most: a restart exactly `period` ago still counts, one a millisecond older not.
    { weight: 1, arbitrary: fc.oneof(fc.constantFrom(periodMs, periodMs + 1, periodMs / 2), fc.integer({ min: 1, max: periodMs })).map((ms) => new AdvanceClock(ms)) },
  ];
  if (config.batches !== false) commands.push({ weight: 3, arbitrary: fc.array(op, { minLength: 2, maxLength: 4 }).map((batch) => new Step(batch)) });
  return fc.commands([fc.oneof(...commands)], { maxCommands: config.maxCommands ?? 30, size: 'max' });
}

/** Options of runSupervisorModel. */
export interface RunSupervisorModelOptions {
  /** Orders the ops of each batch (pass the run's fc.scheduler()); without it they go in listed order. */
  scheduler?: fc.Scheduler;
  /** Options of the fresh test runtime (a fake clock is always used); e.g. `seed` for a seeded run queue. */
  runtime?: TestRuntimeOptions;
}

/**
 * Starts the supervisor of `config` on a fresh test runtime and runs `commands` against SupervisorModel with
 * fc.asyncModelRun. Throws (failing the property) at the first difference; always kills what it started.
 */
export async function runSupervisorModel(config: SupervisorModelConfig, commands: Iterable<SupervisorCommand>, options: RunSupervisorModelOptions = {}): Promise<void> {
  const rt = createTestRuntime({ record: [], ...options.runtime, fakeClock: true });
  const started = await Supervisor.start(rt, { strategy: config.strategy, intensity: config.intensity, period: config.period, children: config.children });
  if (!('ok' in started)) throw new Error(`the supervisor under test did not start: ${formatReason(started)}`);
  const sup = started.ok;
  const real: SupervisorSystem = {
    rt,
    sup,
    config,
    scheduler: options.scheduler,
    pids: new Map(),
    seen: new Set(),
    restartEvents: new Map(),
    shutdownEvents: [],
  };
  rt.telemetry.on('restart', (event) => {
    const childId = String(event.childId);
    if (event.supervisor === sup) real.restartEvents.set(childId, (real.restartEvents.get(childId) ?? 0) + 1);
  });
  rt.telemetry.on('supervisor_shutdown', (event) => {
    if (event.supervisor === sup) real.shutdownEvents.push(event.reason);
  });
  const model = new SupervisorModel(
    config.strategy,
    config.intensity,
    config.period * 1000,
    config.children.map((spec) => ({ id: spec.id, restart: spec.restart ?? 'permanent' })),
  );
  try {
    await compare(model, real, 'start');
    await fc.asyncModelRun(() => ({ model, real }), commands);
  } finally {
    for (const pid of rt.processes()) rt.exit(pid, 'kill');
  }
}
