// One progress line on an output stream, shared by the evaluation bar and the pipeline run display
// (@dspex/orchestration): on a terminal it is redrawn in place, elsewhere (CI logs, files, tests) it is a plain
// line at most every `intervalMs`, and always a last one. Throttled by the clock, never by a timer.

/** Where a progress line goes: process.stderr, or anything with write (isTTY and columns as a tty.WriteStream has them). */
export interface ProgressOutput {
  write(text: string): unknown;
  /** A terminal gets the line redrawn in place; anything else gets plain lines. */
  readonly isTTY?: boolean;
  /** Terminal width (default 80). */
  readonly columns?: number;
}

/** Options of a ProgressLine. */
export interface ProgressLineOptions {
  output: ProgressOutput;
  /** The clock, in ms (default performance.now). */
  now?: () => number;
  /** Plain output: minimum ms between lines. */
  intervalMs: number;
  /** Terminal: minimum ms between redraws. */
  redrawMs: number;
}

/** What a line's renderer gets: whether it draws on a terminal, its width, and the seconds since the line began. */
export interface ProgressView {
  readonly tty: boolean;
  readonly columns: number;
  readonly elapsedSeconds: number;
}

/** tqdm's time format: mm:ss, or h:mm:ss from an hour; `?` when unknown (Infinity, NaN). */
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

/** tqdm's bar: `width` cells filled to `fraction` (clamped to 0..1) in eighths of a cell. */
export function progressBar(fraction: number, width: number): string {
  const eighths = Math.round(Math.min(1, Math.max(0, fraction)) * width * 8);
  const full = Math.floor(eighths / 8);
  const part = eighths % 8;
  return '█'.repeat(full) + (full < width ? BAR_CELLS[part]! + ' '.repeat(width - full - 1) : '');
}

/** A throttled progress line: `update(render)` writes when the throttle allows, `finish(render)` writes the last one. */
export class ProgressLine {
  private readonly now: () => number;
  private readonly started: number;
  private lastWrite = -Infinity;
  private drawn = false;
  private finished = false;

  constructor(private readonly options: ProgressLineOptions) {
    this.now = options.now ?? (() => performance.now());
    this.started = this.now();
  }

  /** Whether the output is a terminal (the line is redrawn in place). */
  get tty(): boolean {
    return this.options.output.isTTY === true;
  }

  /** Renders and writes the line unless one was written less than the throttle's gap ago (the first always is). */
  update(render: (view: ProgressView) => string): void {
    if (this.finished) return;
    const now = this.now();
    const gap = this.tty ? this.options.redrawMs : this.options.intervalMs;
    if (this.drawn && now - this.lastWrite < gap) return;
    this.write(render, now);
  }

  /** Writes the last line (on a terminal, the final redraw, then a newline); later calls do nothing. */
  finish(render: (view: ProgressView) => string): void {
    if (this.finished) return;
    this.write(render, this.now());
    if (this.tty) this.options.output.write('\n');
    this.finished = true;
  }

  private write(render: (view: ProgressView) => string, now: number): void {
    this.lastWrite = now;
    this.drawn = true;
    const text = render({ tty: this.tty, columns: this.options.output.columns ?? 80, elapsedSeconds: (now - this.started) / 1000 });
    this.options.output.write(this.tty ? `\r\x1b[2K${text}` : `${text}\n`);
  }
}
