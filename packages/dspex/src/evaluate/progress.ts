// The progress display of an evaluation: on a terminal, one bar redrawn in place (done / total, the score so
// far as DSPy's tqdm description reads it, examples per second, ETA); elsewhere (CI logs, files, tests) plain
// lines at most every `intervalMs`, and always a last one. Throttled by the clock, never by a timer.

import { pyFloatRepr } from '../utils/py_json.js';
import { pyRound } from './py_round.js';
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

/** tqdm's time format: mm:ss, or h:mm:ss from an hour. */
export function clockText(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const whole = Math.max(0, Math.round(seconds));
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = whole % 60;
  const mmss = `${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
  return h > 0 ? `${h}:${mmss}` : mmss;
}

const BAR_CELLS = ' ▏▎▍▌▋▊▉█';

function bar(fraction: number, width: number): string {
  const eighths = Math.round(Math.min(1, Math.max(0, fraction)) * width * 8);
  const full = Math.floor(eighths / 8);
  const part = eighths % 8;
  return '█'.repeat(full) + (full < width ? BAR_CELLS[part]! + ' '.repeat(width - full - 1) : '');
}

/** The evaluation progress bar (done / total, score, rate, ETA): redrawn on a terminal, plain lines otherwise. */
export class ProgressDisplay {
  private readonly started: number;
  private lastWrite = -Infinity;
  private drawn = false;
  private finished = false;

  constructor(private readonly options: ProgressOptions) {
    this.started = options.now();
  }

  private get tty(): boolean {
    return this.options.output.isTTY === true;
  }

  /** Called after every finished example; writes only when the throttle allows. */
  update(state: ProgressState): void {
    if (this.finished) return;
    const now = this.options.now();
    const gap = this.tty ? this.options.redrawMs : this.options.intervalMs;
    if (this.drawn && now - this.lastWrite < gap) return;
    this.write(state, now);
  }

  /** The last line (or the final redraw of the bar, then a newline). */
  finish(state: ProgressState): void {
    if (this.finished) return;
    this.write(state, this.options.now());
    if (this.tty) this.options.output.write('\n');
    this.finished = true;
  }

  private write(state: ProgressState, now: number): void {
    this.lastWrite = now;
    this.drawn = true;
    const elapsed = (now - this.started) / 1000;
    const rate = elapsed > 0 ? state.done / elapsed : 0;
    const eta = rate > 0 ? (state.total - state.done) / rate : Infinity;
    const failed = state.failed > 0 ? `, ${state.failed} failed` : '';
    const description = averageMetricText(state.scoreSum, state.scored);
    if (this.tty) {
      const stats = `${state.done}/${state.total} [${clockText(elapsed)}<${clockText(eta)}, ${rate.toFixed(2)} ex/s${failed}]`;
      const width = Math.max(10, Math.min(40, (this.options.output.columns ?? 80) - description.length - stats.length - 10));
      const pct = `${String(Math.floor((100 * state.done) / state.total)).padStart(3)}%`;
      this.options.output.write(`\r\x1b[2K${description}: ${pct}|${bar(state.done / state.total, width)}| ${stats}`);
    } else {
      const pct = Math.floor((100 * state.done) / state.total);
      this.options.output.write(`${description} | ${state.done}/${state.total} (${pct}%) | ${rate.toFixed(2)} ex/s | elapsed ${clockText(elapsed)} | ETA ${clockText(eta)}${failed}\n`);
    }
  }
}
