// What a run reports: step events (started / chunk / finished / failed / retried, with durations) into the
// run's own log, which run.events() reads from the start, and into the pipelines telemetry bus, which the
// learner and tests listen to.

import { EventEmitter } from 'eventemitter3';

interface StepEventBase {
  runId: string;
  pipeline: string;
  /** The step's journal key: path in the pipeline, map index, loop iteration ('qa/answer', 'items[3]/score'). */
  step: string;
}

/** A step attempt began. */
export interface StepStartedEvent extends StepEventBase { type: 'step_started'; attempt: number }
/** Text of an output field of a streaming step. */
export interface StepChunkEvent extends StepEventBase { type: 'chunk'; field: string; delta: string }
/** A step produced its outputs; `replayed`: read from the journal on resume, not run. */
export interface StepFinishedEvent extends StepEventBase { type: 'step_finished'; durationMs: number; attempts: number; replayed: boolean; outcome: 'ok' | 'fallback' | 'skipped' | 'default'; outputs: Record<string, unknown> }
/** An attempt failed; `final`: no retry follows (fallback or onFailure come next). */
export interface StepFailedEvent extends StepEventBase { type: 'step_failed'; durationMs: number; attempt: number; final: boolean; error: Error }
/** A retry is scheduled after `delayMs`. */
export interface StepRetriedEvent extends StepEventBase { type: 'step_retried'; attempt: number; delayMs: number; error: Error }
/** The run ended. */
export interface RunEndedEvent { type: 'run_finished' | 'run_failed'; runId: string; pipeline: string; durationMs: number; error?: Error }

/** What run.events() yields; a discriminated union on `type`. */
export type PipelineEvent = StepStartedEvent | StepChunkEvent | StepFinishedEvent | StepFailedEvent | StepRetriedEvent | RunEndedEvent;

/** Telemetry of every run in this process: `step` for each step event, `run` at each run's end. */
export const pipelineTelemetry = new EventEmitter<{ step: (event: Exclude<PipelineEvent, RunEndedEvent>) => void; run: (event: RunEndedEvent) => void }>();

/** A run's events, kept from the start so any number of readers each see all of them, in order. */
export class EventLog {
  private readonly events: PipelineEvent[] = [];
  private waiters: Array<() => void> = [];
  private closed = false;

  push(event: PipelineEvent): void {
    this.events.push(event);
    if (isRunEnd(event)) {
      this.closed = true;
      pipelineTelemetry.emit('run', event);
    } else if (pipelineTelemetry.listenerCount('step') > 0) {
      pipelineTelemetry.emit('step', event);
    }
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  async *read(): AsyncGenerator<PipelineEvent, void, undefined> {
    let index = 0;
    for (;;) {
      while (index < this.events.length) yield this.events[index++]!;
      if (this.closed) return;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }
}

function isRunEnd(event: PipelineEvent): event is RunEndedEvent {
  return event.type === 'run_finished' || event.type === 'run_failed';
}
