// bench:sessions — the session layer's figures for bench:pipeline: memory per live idle session, hydrate latency
// on SQLite (a passivated session with 10 turns brought back by sessions.get: actor start + store read), and
// 10,000 sessions taking 10 turns each concurrently, checked turn by turn in the store afterwards. The program is
// a plain function, so the figures are about sessions, not an LM. Standalone, the last line is one JSON object;
// bench/pipeline.bench.ts includes `sessionsBench()`.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Runtime } from '@dspex/runtime';
import { openStore, type Store } from '@dspex/store';
import { Sessions, type JsonObject, type SessionContext } from '../src/sessions/index.js';

const SESSIONS = Number(process.env.DSPEX_BENCH_SESSIONS ?? 10_000);
const TURNS = 10;
const IDLE = Number(process.env.DSPEX_BENCH_IDLE_SESSIONS ?? 2000);
const HYDRATES = Number(process.env.DSPEX_BENCH_HYDRATES ?? 500);

const program = (inputs: JsonObject, context: SessionContext): JsonObject => ({ turn: inputs.turn as number, seen: context.history.messages.length });

function percentile(sorted: number[], p: number): number {
  return Number((sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN).toFixed(3));
}

async function withSessions<T>(fn: (sessions: Awaited<ReturnType<typeof Sessions.start>>, store: Store) => Promise<T>, maxLive = 100_000): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'dspex-bench-sessions-'));
  const store = await openStore({ sqlite: { dir, groupCommit: true } });
  const rt = new Runtime();
  try {
    return await fn(await Sessions.start(rt, { store, maxLive, sweepIntervalMs: Infinity }), store);
  } finally {
    await rt.shutdown();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const gc = (globalThis as { gc?: () => void }).gc;
function heapUsed(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

/** Heap per live idle session, each with one short turn in memory. */
async function idleBytes(): Promise<number> {
  return withSessions(async (sessions) => {
    await sessions.call('warm', program, { turn: 1 });
    const before = heapUsed();
    for (let i = 0; i < IDLE; i += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => sessions.call(`idle-${i + j}`, program, { turn: 1 })));
    const after = heapUsed();
    return Math.round((after - before) / IDLE);
  });
}

/** p50/p99 of bringing back a passivated 10-turn session (sessions.get on a fresh actor). */
async function hydrate(): Promise<{ p50: number; p99: number }> {
  return withSessions(async (sessions) => {
    for (let i = 0; i < HYDRATES; i += 50) {
      await Promise.all(Array.from({ length: 50 }, async (_, j) => {
        for (let turn = 1; turn <= TURNS; turn++) await sessions.call(`h-${i + j}`, program, { turn });
      }));
    }
    const times: number[] = [];
    for (let i = 0; i < HYDRATES; i++) {
      await sessions.passivate(`h-${i}`);
      const t = process.hrtime.bigint();
      await sessions.get(`h-${i}`);
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    times.sort((a, b) => a - b);
    return { p50: percentile(times, 50), p99: percentile(times, 99) };
  });
}

/** 10,000 sessions x 10 turns at once; counts turns missing, extra or out of order in the store. */
async function tenThousand(): Promise<{ bad: number; seconds: number; turnsPerS: number }> {
  return withSessions(async (sessions, store) => {
    const started = process.hrtime.bigint();
    let bad = 0;
    await Promise.all(
      Array.from({ length: SESSIONS }, async (_, s) => {
        for (let turn = 1; turn <= TURNS; turn++) {
          const out = await sessions.call(`c-${s}`, program, { turn });
          if (out.seen !== turn - 1) bad++; // the history the turn saw lacks or has extra turns
        }
      }),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    for (let s = 0; s < SESSIONS; s++) {
      const turns = (await store.readTurns(`c-${s}`)).map((t) => (t.turn as { inputs: { turn: number } }).inputs.turn);
      for (let i = 0; i < Math.max(turns.length, TURNS); i++) if (turns[i] !== i + 1) bad++;
    }
    return { bad, seconds: Number(seconds.toFixed(2)), turnsPerS: Math.round((SESSIONS * TURNS) / seconds) };
  });
}

/** The session fields of bench:pipeline. */
export async function sessionsBench(): Promise<Record<string, number>> {
  const idle = await idleBytes();
  const hydrated = await hydrate();
  const concurrent = await tenThousand();
  return {
    session_idle_bytes: idle,
    session_hydrate_ms_p50_sqlite: hydrated.p50,
    session_hydrate_ms_p99_sqlite: hydrated.p99,
    sessions_10k_lost_or_reordered_turns: concurrent.bad,
    sessions_10k_seconds: concurrent.seconds,
    sessions_10k_turns_per_s: concurrent.turnsPerS,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = await sessionsBench();
  console.error(`sessions bench (SQLite, fsync per group commit; gc ${gc ? 'exposed' : 'NOT exposed: run with --expose-gc for session_idle_bytes'})`);
  console.log(JSON.stringify(result));
}
