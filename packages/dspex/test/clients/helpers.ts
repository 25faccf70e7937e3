// Test kit for the LM clients: a scripted HTTP server on loopback (node:http in the test process), a manual
// clock that fires timers only when the test advances it, and a pino logger whose lines the test can read.

import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { EventEmitter } from 'eventemitter3';
import { Runtime } from '@dspex/runtime';
import pino, { type Logger } from 'pino';
import type { Clock } from '../../src/clients/clock.js';
import type { LMTelemetryEvents } from '../../src/clients/telemetry.js';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

/** What a script step does with a request: a reply, or a function that writes the response itself. */
export type Step =
  | { status?: number; headers?: Record<string, string>; json?: unknown; text?: string }
  | ((res: ServerResponse, req: RecordedRequest) => unknown);

export class ScriptedServer {
  readonly requests: RecordedRequest[] = [];
  readonly events = new EventEmitter<{ request: [RecordedRequest] }>();
  private readonly steps: Step[] = [];
  /** Used once the script is exhausted. */
  fallback: Step = { status: 500, json: { error: { message: 'script exhausted' } } };
  private constructor(private readonly server: Server, readonly url: string) {}

  static async start(): Promise<ScriptedServer> {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const scripted = new ScriptedServer(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const recorded: RecordedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
        scripted.requests.push(recorded);
        const step = scripted.steps.shift() ?? scripted.fallback;
        scripted.events.emit('request', recorded);
        void scripted.respond(step, res, recorded);
      });
    });
    return scripted;
  }

  private async respond(step: Step, res: ServerResponse, req: RecordedRequest): Promise<void> {
    if (typeof step === 'function') {
      await step(res, req);
      return;
    }
    const body = step.text ?? (step.json === undefined ? '' : JSON.stringify(step.json));
    res.writeHead(step.status ?? 200, { 'content-type': step.text === undefined ? 'application/json' : 'text/plain', ...(step.headers ?? {}) });
    res.end(body);
  }

  /** Queues responses, used in order by the next requests. */
  script(...steps: Step[]): this {
    this.steps.push(...steps);
    return this;
  }

  /** Resolves with the next request that arrives (or the `count`-th request overall once it has). */
  nextRequest(count = this.requests.length + 1): Promise<RecordedRequest> {
    if (this.requests.length >= count) return Promise.resolve(this.requests[count - 1]!);
    return new Promise((resolve) => {
      const listener = (): void => {
        if (this.requests.length >= count) {
          this.events.off('request', listener);
          resolve(this.requests[count - 1]!);
        }
      };
      this.events.on('request', listener);
    });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** An OpenAI chat completion body with the given texts as choices. */
export function openaiReply(texts: string | string[], usage = { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 }): Step {
  const list = Array.isArray(texts) ? texts : [texts];
  return { json: { id: 'chatcmpl-1', object: 'chat.completion', choices: list.map((t, index) => ({ index, message: { role: 'assistant', content: t }, finish_reason: 'stop' })), usage } };
}

/** Writes SSE events one byte at a time, so every boundary a TCP split could make is exercised. */
export function sseBytes(events: string[], status = 200): Step {
  return (res) => {
    res.writeHead(status, { 'content-type': 'text/event-stream' });
    const bytes = Buffer.from(events.join(''), 'utf8');
    for (let i = 0; i < bytes.length; i++) res.write(bytes.subarray(i, i + 1));
    res.end();
  };
}

export function sse(data: unknown, event?: string): string {
  return `${event === undefined ? '' : `event: ${event}\n`}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
}

interface Timer {
  id: number;
  at: number;
  ms: number;
  fn: () => void;
}

/** A clock whose timers fire only in advance(); waitForTimer resolves when the code under test starts one. */
export class ManualClock implements Clock {
  private time = Date.parse('2026-01-01T00:00:00Z');
  private nextId = 1;
  private timers: Timer[] = [];
  private readonly started = new EventEmitter<{ timer: [number] }>();

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const timer = { id: this.nextId++, at: this.time + ms, ms, fn };
    this.timers.push(timer);
    this.started.emit('timer', ms);
    return timer.id;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  /** Moves time forward, firing due timers in time order. */
  advance(ms: number): void {
    const target = this.time + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.time = due.at;
      due.fn();
    }
    this.time = target;
  }

  /** Pending timers' durations, e.g. to see that a retry waits exactly the Retry-After. */
  pending(): number[] {
    return this.timers.map((t) => t.ms);
  }

  /** Resolves once a timer of exactly `ms` is pending (already, or when it is set). */
  waitForTimer(ms: number): Promise<void> {
    if (this.timers.some((t) => t.ms === ms)) return Promise.resolve();
    return new Promise((resolve) => {
      const listener = (started: number): void => {
        if (started !== ms) return;
        this.started.off('timer', listener);
        resolve();
      };
      this.started.on('timer', listener);
    });
  }
}

/** A pino logger at trace level that keeps every line it writes. */
export function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString('utf8'));
      callback();
    },
  });
  return { logger: pino({ level: 'trace' }, stream), lines };
}

export function telemetryBus(): EventEmitter<LMTelemetryEvents> {
  return new EventEmitter<LMTelemetryEvents>();
}

/** Resolves with the first event `name` on `bus` that matches. */
export function nextEvent<K extends keyof LMTelemetryEvents>(bus: EventEmitter<LMTelemetryEvents>, name: K, match: (e: LMTelemetryEvents[K][0]) => boolean = () => true): Promise<LMTelemetryEvents[K][0]> {
  return new Promise((resolve) => {
    const listener = (event: LMTelemetryEvents[K][0]): void => {
      if (!match(event)) return;
      bus.off(name, listener as never);
      resolve(event);
    };
    bus.on(name, listener as never);
  });
}

/** A runtime whose logs go nowhere (tests that read logs use captureLogger). */
export function quietRuntime(): Runtime {
  return new Runtime({ logger: pino({ level: 'silent' }) });
}
