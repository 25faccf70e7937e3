// A Runtime for tests: its logger prints nothing and keeps every crash and supervisor report, its telemetry
// is recorded for assertions, and it can run on a seeded or manual scheduler and a fake clock, so a chaos
// test that fails replays the same way from its seed.

import { pino, type Level, type Logger } from 'pino';
import { BadArgumentError } from '../errors.js';
import type { Pid } from '../process.js';
import type { ExitReason } from '../reasons.js';
import { Runtime } from '../runtime.js';
import type { TelemetryEventName, TelemetryEvents } from '../telemetry.js';
import { seededRandom } from './random.js';

/** Options of createTestRuntime. */
export interface TestRuntimeOptions {
  /** Seeds the scheduler's pick: which runnable process goes next is a seeded pseudo-random choice. */
  seed?: number;
  /** Processes run only inside `drain()`: the test decides when the world moves. */
  manual?: boolean;
  /** The runtime clock (restart intensity periods) stands still until `advanceClock(ms)`. */
  fakeClock?: boolean;
  /** Messages a process handles per turn (default 64; 1 gives the finest interleaving). */
  reductionsPerSlice?: number;
  tickBudgetMs?: number;
  mailboxHighWater?: number;
  /** Lowest log level kept in `logs` (default 'warn'; crash and supervisor reports are errors). */
  logLevel?: Level;
  /** Also print the logs (pino JSON on stdout), for debugging a test. */
  printLogs?: boolean;
  /** Telemetry events recorded in `events` (default: all the runtime's own events). */
  record?: readonly TelemetryEventName[];
}

/** A process that crashed (proc_lib's crash report), as emitted by the runtime. */
export interface CrashReport {
  pid: Pid;
  label: string | null;
  reason: ExitReason;
}

/** A supervisor report (child_terminated, start_error, shutdown, shutdown_error) as the supervisor logged it. */
export interface SupervisorReport {
  supervisor: string;
  context: string;
  childId: string;
  reason: string;
}

/** One log line a TestRuntime kept instead of printing it. */
export interface LogRecord {
  /** pino's numeric level: 40 warn, 50 error. */
  level: number;
  message: string;
  fields: Record<string, unknown>;
}

/** One recorded telemetry event, discriminated by `name`. */
export type TelemetryRecord = { [K in TelemetryEventName]: { name: K; event: TelemetryEvents[K][0] } }[TelemetryEventName];

/** The runtime's own telemetry events; other modules' events can be named in `record`. */
export const RUNTIME_EVENTS = [
  'spawn',
  'exit',
  'crash_report',
  'message_dropped',
  'mailbox_high_water',
  'restart',
  'start_error',
  'supervisor_shutdown',
  'shutdown_error',
  'internal_error',
] as const satisfies readonly TelemetryEventName[];

/** A Runtime for tests: seeded interleaving, optional manual scheduling and fake clock, and every report kept. */
export class TestRuntime extends Runtime {
  readonly crashReports: CrashReport[] = [];
  readonly supervisorReports: SupervisorReport[];
  readonly logs: LogRecord[];
  readonly events: TelemetryRecord[] = [];
  private readonly fakeTime: { now: number } | null;

  constructor(options: TestRuntimeOptions = {}) {
    const logs: LogRecord[] = [];
    const supervisorReports: SupervisorReport[] = [];
    const fakeTime = options.fakeClock === true ? { now: 0 } : null;
    const random = options.seed === undefined ? undefined : seededRandom(options.seed);
    super({
      logger: collectingLogger(logs, supervisorReports, options.logLevel ?? 'warn', options.printLogs ?? false),
      ...(fakeTime === null ? {} : { clock: () => fakeTime.now }),
      ...(options.mailboxHighWater === undefined ? {} : { mailboxHighWater: options.mailboxHighWater }),
      scheduler: {
        ...(random === undefined ? {} : { pick: (runnable: number) => Math.floor(random() * runnable) }),
        ...(options.manual === undefined ? {} : { manual: options.manual }),
        ...(options.reductionsPerSlice === undefined ? {} : { reductionsPerSlice: options.reductionsPerSlice }),
        ...(options.tickBudgetMs === undefined ? {} : { tickBudgetMs: options.tickBudgetMs }),
      },
    });
    this.logs = logs;
    this.supervisorReports = supervisorReports;
    this.fakeTime = fakeTime;
    for (const name of options.record ?? RUNTIME_EVENTS) this.recordEvent(name);
    this.telemetry.on('crash_report', (event) => this.crashReports.push(event));
  }

  /** Runs every runnable process until none is left (the only way anything runs with `manual: true`). */
  drain(): Promise<void> {
    return this.scheduler.drain();
  }

  /** Moves the fake clock forward. Throws unless the runtime was created with `fakeClock: true`. */
  advanceClock(ms: number): void {
    if (this.fakeTime === null) throw new BadArgumentError('advanceClock needs createTestRuntime({ fakeClock: true }).');
    if (!(ms >= 0)) throw new BadArgumentError(`advanceClock takes a non-negative number of ms, not ${ms}.`);
    this.fakeTime.now += ms;
  }

  /** The recorded events named `name`, oldest first. */
  eventsNamed<K extends TelemetryEventName>(name: K): Array<TelemetryEvents[K][0]> {
    const found: Array<TelemetryEvents[K][0]> = [];
    for (const record of this.events) if (record.name === name) found.push(record.event as TelemetryEvents[K][0]);
    return found;
  }

  private recordEvent<K extends TelemetryEventName>(name: K): void {
    const listener = (event: TelemetryEvents[K][0]): void => {
      this.events.push({ name, event } as TelemetryRecord);
    };
    (this.telemetry.on as (name: K, listener: (event: TelemetryEvents[K][0]) => void) => unknown).call(this.telemetry, name, listener);
  }
}

/** A new test runtime. See TestRuntimeOptions; with no options it is a silent, recording, real-time runtime. */
export function createTestRuntime(options: TestRuntimeOptions = {}): TestRuntime {
  return new TestRuntime(options);
}

/** A pino logger that keeps what is logged instead of printing it (pino's logMethod hook sees the call first). */
function collectingLogger(logs: LogRecord[], supervisorReports: SupervisorReport[], level: Level, print: boolean): Logger {
  return pino({
    level,
    hooks: {
      logMethod(args, method, levelNumber) {
        const [first, second] = args as unknown[];
        const fields = typeof first === 'object' && first !== null ? (first as Record<string, unknown>) : {};
        const message = typeof first === 'string' ? first : typeof second === 'string' ? second : '';
        logs.push({ level: levelNumber, message, fields });
        const report = fields.supervisor_report;
        if (typeof report === 'object' && report !== null) supervisorReports.push(report as SupervisorReport);
        if (print) method.apply(this, args);
      },
    },
  });
}
