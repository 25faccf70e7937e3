// Helpers of the evaluate benchmark: child processes that announce themselves with a JSON line (the server,
// the DSPy script), the bare-transport peer (the same keep-alive node:http transport the LM client uses, no
// dspex above it: the practical ceiling of this client on this machine), the server's counters, and medians.

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Exchange } from '../src/clients/transport.js';
import type { FakeOpenAIStats } from './openai_server.js';

export interface JsonProcess<T> {
  child: ChildProcess;
  /** The first JSON line it prints. */
  first: Promise<T>;
  /** The last JSON line, once it exited with code 0. */
  last: Promise<T>;
}

export function startJsonProcess<T>(command: string, args: string[], cwd: string): JsonProcess<T> {
  const child = spawn(command, args, { cwd, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  let resolveFirst!: (value: T) => void;
  let latest: string | undefined;
  const first = new Promise<T>((resolve) => (resolveFirst = resolve));
  lines.on('line', (line) => {
    if (!line.trim().startsWith('{')) return;
    if (latest === undefined) resolveFirst(JSON.parse(line) as T);
    latest = line;
  });
  const last = new Promise<T>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => (code === 0 && latest !== undefined ? resolve(JSON.parse(latest) as T) : reject(new Error(`${command} ${args.join(' ')} exited with ${code}`))));
  });
  return { child, first: Promise.race([first, last]), last };
}

/** A chat request shaped like the one Predict('question -> answer') sends through ChatAdapter. */
function chatBody(i: number): string {
  const system =
    'Your input fields are:\n1. `question` (str):\nYour output fields are:\n1. `answer` (str):\nAll interactions will be structured in the following way, ' +
    'with the appropriate values filled in.\n\n[[ ## question ## ]]\n{question}\n\n[[ ## answer ## ]]\n{answer}\n\n[[ ## completed ## ]]\n' +
    'In adhering to this structure, your objective is: \n        Given the fields `question`, produce the fields `answer`.';
  const user = `[[ ## question ## ]]\nWhat is ${i} + 1?\n\nRespond with the corresponding output fields, starting with the field \`[[ ## answer ## ]]\`, and then ending with the marker for \`[[ ## completed ## ]]\`.`;
  return JSON.stringify({ model: 'bench', messages: [{ role: 'system', content: system }, { role: 'user', content: user }], temperature: 0 });
}

/** A run's throughput and the CPU this process spent per item (user + system, µs). */
export interface RunFigures {
  perSecond: number;
  cpuUsPerItem: number;
}

/** Times `run` (which handles `n` items) in wall time and in this process's CPU time. */
export async function timed(n: number, run: () => Promise<unknown>): Promise<RunFigures> {
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await run();
  const elapsed = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  if (process.env.BENCH_CPU_SPLIT === "1") process.stderr.write(`user ${(cpu.user / n).toFixed(0)} sys ${(cpu.system / n).toFixed(0)} µs/item\n`);
  return { perSecond: (n * 1000) / elapsed, cpuUsPerItem: (cpu.user + cpu.system) / n };
}

/** `n` chat completions, `concurrency` at a time, on the LM client's transport with nothing above it. */
export async function transportRun(url: string, concurrency: number, n: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < n; i = next++) {
        const exchange = new Exchange(`${url}/chat/completions`, { 'content-type': 'application/json' }, chatBody(i));
        await exchange.head;
        JSON.parse(await exchange.text());
        exchange.release();
      }
    }),
  );
}

/** The server's counters since the last call (and resets them). */
export async function serverStats(url: string): Promise<FakeOpenAIStats> {
  const response = await fetch(`${url.replace(/\/v1$/, '')}/stats?reset=1`);
  return (await response.json()) as FakeOpenAIStats;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
