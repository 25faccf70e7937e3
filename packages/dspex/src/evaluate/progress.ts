// The progress display of an evaluation: on a terminal, one bar redrawn in place (done / total, the score so
// far as DSPy's tqdm description reads it, examples per second, ETA); elsewhere (CI logs, files, tests) plain
// lines at most every `intervalMs`, and always a last one (the throttled line itself is utils/progress_line.ts).

import { pyFloatRepr } from '../utils/py_json.js';
import { pyRound } from './py_round.js';
import { ProgressLine, clockText, progressBar, type ProgressView } from '../utils/progress_line.js';
import type { OutputStream } from './types.js';

/** What the progress bar shows at one moment. */
export interface ProgressState {
  /** Examples finished, scored or failed. */
  readonly done: number;
  readonly total: number;
  readonly failed: number;
  /** Sum and count of the scores of examples that did not fail (DSPy's progress ignores failures). */
  readonly scoreSum: number;
  readonly scored: number;
}

export interface ProgressOptions {
  output: OutputStream;
  now: () => number;
  /** Plain output: minimum ms between lines. */
  intervalMs: number;
  /** Terminal: minimum ms between redraws. */
  redrawMs: number;
}

/** DSPy's description: "Average Metric: 3.00 / 5 (60.0%)". */
export function averageMetricText(scoreSum: number, scored: number): string {
  const pct = scored === 0 ? 0 : pyRound((100 * scoreSum) / scored, 1);
  return `Average Metric: ${pyRound(scoreSum, 2).toFixed(2)} / ${scored} (${pyFloatRepr(pct)}%)`;
}

/** The evaluation progress bar (done / total, score, rate, ETA): redrawn on a terminal, plain lines otherwise. */
export class ProgressDisplay {
  private readonly line: ProgressLine;

  constructor(options: ProgressOptions) {
    this.line = new ProgressLine(options);
  }

  /** Called after every finished example; writes only when the throttle allows. */
  update(state: ProgressState): void {
    this.line.update((view) => render(state, view));
  }

  /** The last line (or the final redraw of the bar, then a newline). */
  finish(state: ProgressState): void {
    this.line.finish((view) => render(state, view));
  }
}

function render(state: ProgressState, view: ProgressView): string {
  const elapsed = view.elapsedSeconds;
  const rate = elapsed > 0 ? state.done / elapsed : 0;
  const eta = rate > 0 ? (state.total - state.done) / rate : Infinity;
  const failed = state.failed > 0 ? `, ${state.failed} failed` : '';
  const description = averageMetricText(state.scoreSum, state.scored);
  if (view.tty) {
    const stats = `${state.done}/${state.total} [${clockText(elapsed)}<${clockText(eta)}, ${rate.toFixed(2)} ex/s${failed}]`;
    const width = Math.max(10, Math.min(40, view.columns - description.length - stats.length - 10));
    const pct = `${String(Math.floor((100 * state.done) / state.total)).padStart(3)}%`;
    return `${description}: ${pct}|${progressBar(state.done / state.total, width)}| ${stats}`;
  }
  const pct = Math.floor((100 * state.done) / state.total);
  return `${description} | ${state.done}/${state.total} (${pct}%) | ${rate.toFixed(2)} ex/s | elapsed ${clockText(elapsed)} | ETA ${clockText(eta)}${failed}`;
}
