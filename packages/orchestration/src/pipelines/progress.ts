// The progress display of a pipeline run, fed by its events: steps done / total (a map's items counted once its
// list is known), the steps running now, elapsed time, retries and failures. On a terminal one bar is redrawn
// in place; elsewhere plain lines come at most every `intervalMs`, and always a last one (dspex's ProgressLine).

import { ProgressLine, clockText, progressBar, type ProgressOutput } from 'dspex';
import { childPath, type Pipeline } from './build.js';
import type { PipelineEvent } from './events.js';
import type { Node, RunState } from './nodes.js';
import type { PipelineRun } from './runner.js';

/** Options of a run's progress display (`runner.start(p, inputs, { progress })`, showProgress). */
export interface RunProgressOptions {
  /** Where the display goes. Default process.stderr (a bar on a terminal, lines otherwise). */
  output?: ProgressOutput;
  /** Plain output: at most one line per this many ms (default 5000), and always a last one. */
  intervalMs?: number;
  /** Terminal: at most one redraw per this many ms (default 100). */
  redrawMs?: number;
  /**
   * Draw (or print) this often while no event comes, so elapsed time and the running steps stay current during
   * a long step. Default 1000 ms on a terminal, `intervalMs` otherwise; 0 or Infinity: only on events.
   */
  tickMs?: number;
  /** The clock, in ms (default performance.now). */
  now?: () => number;
}

/** What showProgress knows of a run beforehand, to count the steps still to come. */
export interface RunPlan {
  /** The pipeline (or a lookup by the name its events carry). Without it the total is the steps seen so far. */
  pipeline?: Pipeline | ((name: string) => Pipeline | undefined);
  /** The run's inputs: a map over an input field is counted from the start. */
  inputs?: RunState;
}

/** How many running step names a line shows before `+N`. */
const RUNNING_SHOWN = 3;

/** Where a run stands, from its events. */
class RunTally {
  pipelineName = '';
  /** Steps that ended (finished, replayed, or failed for good), by key; fallback steps not counted. */
  readonly ended = new Set<string>();
  readonly outputs = new Map<string, Record<string, unknown>>();
  /** Every prefix of every step key seen ('qa', 'qa/score[3]', 'qa/score[3]/len'). */
  readonly prefixes = new Set<string>();
  readonly running = new Map<string, number>();
  failed = 0;
  retries = 0;
  replayed = 0;
  end: { ok: true } | { ok: false; error?: Error } | undefined;

  add(event: PipelineEvent): void {
    this.pipelineName ||= event.pipeline;
    switch (event.type) {
      case 'step_started':
        this.see(event.step);
        this.running.set(event.step, event.attempt);
        break;
      case 'step_finished':
        this.see(event.step);
        this.running.delete(event.step);
        this.outputs.set(event.step, event.outputs);
        if (event.replayed) this.replayed++;
        if (!isFallback(event.step)) this.ended.add(event.step);
        break;
      case 'step_failed':
        if (!event.final) break;
        this.running.delete(event.step);
        this.failed++;
        if (!isFallback(event.step)) this.ended.add(event.step);
        break;
      case 'step_retried':
        this.retries++;
        break;
      case 'run_finished':
        this.end = { ok: true };
        this.running.clear();
        break;
      case 'run_failed':
        this.end = { ok: false, ...(event.error === undefined ? {} : { error: event.error }) };
        this.running.clear();
        break;
      case 'chunk':
        break;
    }
  }

  private see(key: string): void {
    for (let at = key.indexOf('/'); at !== -1; at = key.indexOf('/', at + 1)) this.prefixes.add(key.slice(0, at));
    this.prefixes.add(key);
  }
}

function isFallback(key: string): boolean {
  return key.includes('.fallback');
}

/** The steps a run makes as far as known now: `open` when more may come (a list not produced yet, a branch not taken, a loop that may go on). */
interface Planned {
  total: number;
  open: boolean;
  /** The fields the node adds, when all its steps finished. */
  produced: Record<string, unknown> | undefined;
}

function plan(node: Node, state: RunState, key: string, tally: RunTally): Planned {
  switch (node.kind) {
    case 'step': {
      const path = childPath(key, node.name);
      return { total: 1, open: false, produced: tally.outputs.get(path) };
    }
    case 'sequence': {
      const local = { ...state };
      const added: Record<string, unknown> = {};
      let total = 0;
      let open = false;
      let complete = true;
      for (const child of node.steps) {
        const p = plan(child, local, key, tally);
        total += p.total;
        open ||= p.open;
        if (p.produced === undefined) complete = false;
        else Object.assign(local, Object.assign(added, p.produced));
      }
      return { total, open, produced: complete ? added : undefined };
    }
    case 'parallel': {
      const path = childPath(key, node.name);
      const branches = Object.entries(node.branches).map(([name, child]) => plan(child, state, childPath(path, name), tally));
      const total = branches.reduce((sum, p) => sum + p.total, 0);
      const open = branches.some((p) => p.open);
      if (node.mode === 'all') return { total, open, produced: branches.every((p) => p.produced !== undefined) ? Object.assign({}, ...branches.map((p) => p.produced)) : undefined };
      return { total, open, produced: branches.find((p) => p.produced !== undefined)?.produced };
    }
    case 'map': {
      const path = childPath(key, node.name);
      const items = state[node.over];
      const known = Array.isArray(items);
      let count = known ? items.length : 0;
      if (!known) while (tally.prefixes.has(`${path}[${count}]`)) count++; // items seen running so far
      let total = 0;
      let open = !known;
      for (let index = 0; index < count; index++) {
        const p = plan(node.body, { ...state, [node.as]: known ? items[index] : undefined, index }, `${path}[${index}]`, tally);
        total += p.total;
        open ||= p.open;
      }
      return { total, open, produced: known ? { [node.output]: new Array<null>(count).fill(null) } : undefined };
    }
    case 'branch': {
      const path = childPath(key, node.name);
      const thenPath = childPath(path, 'then');
      const elsePath = childPath(path, 'else');
      if (tally.prefixes.has(thenPath)) return plan(node.then, state, thenPath, tally);
      if (node.else !== undefined && tally.prefixes.has(elsePath)) return plan(node.else, state, elsePath, tally);
      // Not taken yet: the smaller side is the least still to come.
      const sides = [plan(node.then, state, thenPath, tally).total, node.else === undefined ? 0 : plan(node.else, state, elsePath, tally).total];
      return { total: Math.min(...sides), open: true, produced: undefined };
    }
    case 'loop': {
      const path = childPath(key, node.name);
      const local = { ...state };
      let total = 0;
      let open = false;
      let produced: Record<string, unknown> | undefined;
      let iteration = 0;
      do {
        const p = plan(node.body, local, `${path}#${iteration}`, tally);
        total += p.total;
        open ||= p.open;
        produced = p.produced;
        if (produced !== undefined) Object.assign(local, produced);
        iteration++;
      } while (iteration < node.maxIterations && tally.prefixes.has(`${path}#${iteration}`));
      // Whether `until` ends it here is the runner's to say; more iterations may come.
      return { total, open: open || iteration < node.maxIterations, produced };
    }
  }
}

/** The running steps, map items grouped: `answer, score[]/len ×8, +2`. */
function runningText(running: ReadonlyMap<string, number>): string {
  const groups = new Map<string, string[]>();
  for (const key of running.keys()) {
    const pattern = key.replace(/\[\d+\]/g, '[]');
    const members = groups.get(pattern);
    if (members === undefined) groups.set(pattern, [key]);
    else members.push(key);
  }
  const shown = [...groups].slice(0, RUNNING_SHOWN).map(([pattern, keys]) => (keys.length === 1 ? keys[0]! : `${pattern} ×${keys.length}`));
  const rest = groups.size - RUNNING_SHOWN;
  return rest > 0 ? `${shown.join(', ')}, +${rest}` : shown.join(', ');
}

function fit(text: string, columns: number): string {
  const chars = [...text];
  return chars.length < columns ? text : `${chars.slice(0, Math.max(0, columns - 2)).join('')}…`;
}

/** One run's display: a tally of its events and the throttled line that shows it. */
class RunProgressDisplay {
  private readonly tally = new RunTally();
  private readonly line: ProgressLine;

  constructor(
    options: RunProgressOptions,
    private readonly runPlan: RunPlan,
  ) {
    const output = options.output ?? process.stderr;
    this.line = new ProgressLine({ output, intervalMs: options.intervalMs ?? 5000, redrawMs: options.redrawMs ?? 100, ...(options.now === undefined ? {} : { now: options.now }) });
  }

  add(event: PipelineEvent): void {
    this.tally.add(event);
    if (this.tally.end !== undefined) this.finish();
    else this.line.update((view) => this.render(view));
  }

  tick(): void {
    this.line.update((view) => this.render(view));
  }

  finish(): void {
    this.line.finish((view) => this.render(view));
  }

  private pipeline(): Pipeline | undefined {
    const { pipeline } = this.runPlan;
    return typeof pipeline === 'function' ? (this.tally.pipelineName === '' ? undefined : pipeline(this.tally.pipelineName)) : pipeline;
  }

  private render(view: { tty: boolean; columns: number; elapsedSeconds: number }): string {
    const { tally } = this;
    const done = tally.ended.size;
    const pipeline = this.pipeline();
    const planned = pipeline === undefined ? { total: done + tally.running.size, open: true } : plan(pipeline.body, this.runPlan.inputs ?? {}, '', tally);
    const finished = tally.end?.ok === true;
    // A finished run made every step it was going to make (race losers and skipped items never end).
    const total = finished ? done : Math.max(planned.total, done);
    const open = !finished && planned.open;
    const name = pipeline?.name ?? (tally.pipelineName || 'pipeline');
    const steps = `${done}/${total}${open ? '+' : ''} steps`;
    const pct = total === 0 ? 0 : Math.floor((100 * done) / total);
    const notes = [tally.failed > 0 ? `${tally.failed} failed` : '', tally.retries > 0 ? `${tally.retries} ${tally.retries === 1 ? 'retry' : 'retries'}` : '', tally.replayed > 0 ? `${tally.replayed} replayed` : ''].filter((n) => n !== '');
    const end = tally.end;
    const state = end === undefined ? (tally.running.size > 0 ? `running: ${runningText(tally.running)}` : '') : end.ok ? 'finished' : `run failed${end.error === undefined ? '' : `: ${end.error.message}`}`;
    if (view.tty) {
      const head = `${name}: ${String(pct).padStart(3)}%|`;
      const stats = `| ${steps} [${clockText(view.elapsedSeconds)}${notes.length > 0 ? `, ${notes.join(', ')}` : ''}]`;
      const width = Math.max(10, Math.min(30, view.columns - head.length - stats.length - 30));
      return fit(`${head}${progressBar(total === 0 ? 0 : done / total, width)}${stats}${state === '' ? '' : ` ${state}`}`, view.columns);
    }
    return [`${name}`, `${steps} (${pct}%)`, `elapsed ${clockText(view.elapsedSeconds)}`, ...notes, ...(state === '' ? [] : [state])].join(' | ');
  }
}

/**
 * Shows the progress of `run` (a PipelineRun, or any iterable of its events) on `options.output` until the run
 * ends, and resolves after the last line is written. Pass `pipeline` (and `inputs`) to count the steps still to
 * come; `runner.start(p, inputs, { progress })` does this for you.
 */
export async function showProgress(run: PipelineRun | AsyncIterable<PipelineEvent>, options: RunProgressOptions & RunPlan = {}): Promise<void> {
  const events = typeof (run as PipelineRun).events === 'function' ? (run as PipelineRun).events() : (run as AsyncIterable<PipelineEvent>);
  const { pipeline, inputs, ...display } = options;
  const progress = new RunProgressDisplay(display, { ...(pipeline === undefined ? {} : { pipeline }), ...(inputs === undefined ? {} : { inputs }) });
  const tty = (display.output ?? process.stderr).isTTY === true;
  const tickMs = display.tickMs ?? (tty ? 1000 : (display.intervalMs ?? 5000));
  const ticker = tickMs > 0 && Number.isFinite(tickMs) ? setInterval(() => progress.tick(), tickMs) : undefined;
  ticker?.unref();
  try {
    for await (const event of events) progress.add(event);
  } finally {
    clearInterval(ticker);
    progress.finish();
  }
}

/**
 * `run` with a progress display: its `result` settles once the display wrote its last line, so what the caller
 * prints next starts on a line of its own. A display that fails (its output throws) is a process warning; the
 * run goes on.
 */
export function withProgress(run: PipelineRun, progress: true | RunProgressOptions, runPlan: RunPlan): PipelineRun {
  const shown = showProgress(run, { ...(progress === true ? {} : progress), ...runPlan }).catch((error: unknown) => {
    process.emitWarning(`the progress display of pipeline run ${run.runId} failed: ${error instanceof Error ? error.message : String(error)}`, { code: 'DSPEX_PIPELINE_PROGRESS' });
  });
  const result = shown.then(() => run.result);
  result.catch(() => undefined); // as the runner's own result: an unawaited run is not a crash
  return { ...run, result };
}
