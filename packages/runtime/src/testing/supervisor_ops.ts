// The actions of the supervisor model test: each applied to SupervisorModel and to the real supervisor at the
// same moment (so a batch can interleave them), each returning the check of its outcome. Exit signals and
// calls go to children; the rest are the Supervisor API. supervisor_commands.ts sequences them.

import fc from 'fast-check';
import type { ChildSpec, Restart } from '../child_spec.js';
import { CallExitError, NoProcError, formatReason } from '../errors.js';
import type { Pid } from '../process.js';
import type { ExitReason } from '../reasons.js';
import { Supervisor, type StartChildResult } from '../supervisor.js';
import { crash, kill } from './faults.js';
import type { SupervisorModelConfig, SupervisorSystem } from './supervisor_commands.js';
import type { SupervisorModel } from './supervisor_model.js';

/** Running incarnations when a step begins: crash, kill and call target these pids. */
export type Snapshot = ReadonlyMap<string, number>;
/** Checks an op's outcome against the model as it stands once the whole step is over; throws on a difference. */
export type Verify = (model: SupervisorModel) => void;

/** One action, applied to the model and to the real system at the same moment. */
export interface Op {
  readonly label: string;
  /** The model's child that must run for this op to mean anything alone (crash, kill, call). */
  readonly needsRunning?: string;
  issue(model: SupervisorModel, real: SupervisorSystem, snapshot: Snapshot): Promise<Verify>;
}

const passed: Promise<Verify> = Promise.resolve(() => {});

export function differs(step: string, what: string, model: unknown, real: unknown): Error {
  return new Error(`after ${step}: ${what}: the model says ${show(model)}, the supervisor ${show(real)}`);
}

export function show(value: unknown): string {
  return value instanceof Error ? `${value.name}: ${value.message}` : typeof value === 'string' ? value : fc.stringify(value);
}

// --- Ops on children (exit signals and calls) ---

function targetOf(id: string, real: SupervisorSystem, snapshot: Snapshot): { incarnation: number; pid: Pid } | undefined {
  const incarnation = snapshot.get(id);
  if (incarnation === undefined) return undefined;
  return { incarnation, pid: real.pids.get(incarnation)! };
}

export function crashOp(id: string, reason: ExitReason): Op {
  return {
    label: `crash(${id}, ${show(reason)})`,
    needsRunning: id,
    issue(model, real, snapshot) {
      const target = targetOf(id, real, snapshot);
      if (target === undefined) return passed;
      // Synchronous: the EXIT is in the supervisor's mailbox now, in the order the ops were issued.
      crash(real.rt, target.pid, reason);
      model.childExited(id, target.incarnation, reason);
      return passed;
    },
  };
}

export function killOp(id: string): Op {
  return {
    label: `kill(${id})`,
    needsRunning: id,
    issue(model, real, snapshot) {
      const target = targetOf(id, real, snapshot);
      // Already gone (crashed earlier in the batch, or stopped by the supervisor): the signal is a no-op.
      if (target === undefined || !real.rt.isAlive(target.pid)) return passed;
      const down = kill(real.rt, target.pid);
      model.childExited(id, target.incarnation, 'killed');
      return down.then((reason) => () => {
        if (reason !== 'killed') throw differs(`kill(${id})`, 'exit reason', 'killed', reason);
      });
    },
  };
}

/** The call hook for child `id`, or undefined when there is none or the child answers no calls. */
export function callHookFor(config: SupervisorModelConfig, id: string): SupervisorModelConfig['call'] {
  if (config.answersCalls !== undefined && !config.answersCalls.includes(id)) return undefined;
  return config.call;
}

export function callOp(id: string): Op {
  return {
    label: `call(${id})`,
    needsRunning: id,
    issue(model, real, snapshot) {
      const target = targetOf(id, real, snapshot);
      const call = callHookFor(real.config, id);
      if (target === undefined || call === undefined) return passed;
      const callsBefore = model.called(target.incarnation);
      return call(real.rt, target.pid, { id, callsBefore }).then(
        () => () => {},
        (error: unknown) => (end: SupervisorModel) => {
          // Within a batch the child may be stopped before it answers; a child that still runs must answer.
          if (end.running(id) === target.incarnation) throw differs(`call(${id})`, 'the call', 'answered', error);
        },
      );
    },
  };
}

// --- Ops on the supervisor (its API) ---

/** The model's reply, and the incarnation a reply's new pid belongs to (start and restart). */
interface Prediction {
  reply: string;
  incarnation: number | null;
}

/**
 * A supervisor call. The model answers at issue time (the supervisor takes its mailbox in issue order); the
 * real reply must match, or the call must fail as the supervisor is gone when the model has it stopped.
 */
function supervisorOp<R>(
  label: string,
  predict: (model: SupervisorModel) => Prediction,
  send: (real: SupervisorSystem) => Promise<R>,
  kind: (reply: R) => string,
  onReply: (reply: R, real: SupervisorSystem, prediction: Prediction) => void = () => {},
): Op {
  return {
    label,
    issue(model, real) {
      const prediction: Prediction = model.alive ? predict(model) : { reply: 'down', incarnation: null };
      return send(real).then(
        (reply) => () => {
          if (kind(reply) !== prediction.reply) throw differs(label, 'reply', prediction.reply, reply);
          onReply(reply, real, prediction);
        },
        (error: unknown) => () => {
          const gone = error instanceof CallExitError || error instanceof NoProcError;
          if (prediction.reply !== 'down' || !gone) throw differs(label, 'reply', prediction.reply, error);
        },
      );
    },
  };
}

function startKind(reply: StartChildResult): string {
  if ('ok' in reply) return 'ok';
  if (!('error' in reply)) return 'ignore';
  const error: unknown = reply.error;
  if (error === 'already_present') return 'already_present';
  if (typeof error === 'object' && error !== null && 'alreadyStarted' in error) return 'already_started';
  return formatReason(error);
}

export function startOp(spec: ChildSpec): Op {
  const restart: Restart = spec.restart ?? 'permanent';
  const label = `startChild(${spec.id}, ${restart})`;
  return supervisorOp<StartChildResult>(
    label,
    (model) => ({ reply: model.startChild(spec.id, restart), incarnation: model.running(spec.id) }),
    (real) => Supervisor.startChild(real.rt, real.sup, spec),
    startKind,
    (reply, real, { incarnation }) => {
      if (incarnation === null) return;
      if ('ok' in reply) adopt(real, incarnation, reply.ok, label);
      else if ('error' in reply && typeof reply.error === 'object' && reply.error !== null && 'alreadyStarted' in reply.error) {
        const known = real.pids.get(incarnation);
        if (known !== undefined && known !== reply.error.alreadyStarted) throw differs(label, 'alreadyStarted pid', known, reply.error.alreadyStarted);
      }
    },
  );
}

export function terminateOp(id: string): Op {
  return supervisorOp(
    `terminateChild(${id})`,
    (model) => ({ reply: model.terminateChild(id), incarnation: null }),
    (real) => Supervisor.terminateChild(real.rt, real.sup, id),
    (reply) => ('ok' in reply ? 'ok' : reply.error),
  );
}

export function restartOp(id: string): Op {
  const label = `restartChild(${id})`;
  return supervisorOp(
    label,
    (model) => {
      const reply = model.restartChild(id);
      return { reply, incarnation: reply === 'ok' ? model.running(id) : null };
    },
    (real) => Supervisor.restartChild(real.rt, real.sup, id),
    (reply) => ('ok' in reply ? 'ok' : 'error' in reply ? formatReason(reply.error) : 'ignore'),
    (reply, real, { incarnation }) => {
      if ('ok' in reply && incarnation !== null) adopt(real, incarnation, reply.ok, label);
    },
  );
}

export function deleteOp(id: string): Op {
  return supervisorOp(
    `deleteChild(${id})`,
    (model) => ({ reply: model.deleteChild(id), incarnation: null }),
    (real) => Supervisor.deleteChild(real.rt, real.sup, id),
    (reply) => ('ok' in reply ? 'ok' : reply.error),
  );
}

/** Records the pid of a new incarnation; a pid seen before would mean the supervisor reused a process. */
export function adopt(real: SupervisorSystem, incarnation: number, pid: Pid, step: string): void {
  const known = real.pids.get(incarnation);
  if (known === pid) return;
  if (known !== undefined || real.seen.has(pid)) throw differs(step, 'pid of a new start', 'a new process', `${pid} (seen before)`);
  real.pids.set(incarnation, pid);
  real.seen.add(pid);
}
