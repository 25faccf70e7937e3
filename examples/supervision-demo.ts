// The runtime's main demo: start a supervision tree, print it, crash children and watch the supervisors
// restart them by strategy, then crash one too often and watch restart intensity stop the tree.
// Run it with `npm start` from the repository root.

import { GenServer, Runtime, Supervisor, formatReason, formatTree, supervisionTree, type ChildSpec, type Pid } from '@dspex/runtime';
import { pino } from 'pino';

// Crash reports go to telemetry below; the JSON logger is kept quiet so the story stays readable.
const rt = new Runtime({ logger: pino({ level: 'silent' }) });
rt.telemetry.on('crash_report', (e) => console.log(`  crash report: ${e.pid} (${e.label}) ${formatReason(e.reason)}`));
rt.telemetry.on('restart', (e) => console.log(`  restart: supervisor ${e.supervisor} restarted ${String(e.childId)} as ${String(e.pid)}`));
rt.telemetry.on('supervisor_shutdown', (e) => console.log(`  supervisor ${e.supervisor} gives up: ${e.reason} (last child: ${String(e.childId)})`));

/** A counter server: `next` returns the count and adds one; 'crash' throws inside the server. */
const Counter = {
  init: (start: number) => ({ ok: start }),
  handleCall(request: 'next' | 'crash', _from: unknown, count: number) {
    if (request === 'crash') throw new Error('counter asked to crash');
    return { reply: count, state: count + 1 };
  },
};

const server = (id: string, name: string): ChildSpec => ({
  id,
  start: (parent) => GenServer.startLink(parent, Counter, 0, { name, label: id }),
});

const started = await Supervisor.start(
  rt,
  {
    strategy: 'one_for_one',
    intensity: 3,
    period: 5,
    children: [
      server('counter', 'counter'),
      Supervisor.childSpec('storage', { strategy: 'rest_for_one', children: [server('db', 'db'), server('cache', 'cache')] }),
    ],
  },
  { name: 'app' },
);
if (!('ok' in started)) throw new Error(`the tree did not start: ${formatReason(started)}`);
const app = started.ok;

const show = async (title: string): Promise<void> => console.log(`\n${title}\n${formatTree(await supervisionTree(rt, app, 'app'))}\n`);
const restartOf = (childId: string): Promise<void> =>
  new Promise((resolve) => {
    const onRestart = (e: { childId: unknown }): void => {
      if (e.childId !== childId) return;
      rt.telemetry.off('restart', onRestart);
      resolve();
    };
    rt.telemetry.on('restart', onRestart);
  });

await show('1. The tree at start (one_for_one app, rest_for_one storage):');

console.log('counter says', await GenServer.call(rt, 'counter', 'next'), await GenServer.call(rt, 'counter', 'next'), await GenServer.call(rt, 'counter', 'next'));
console.log("2. Crash the counter from inside (a call that throws):");
const counterBack = restartOf('counter');
await GenServer.call(rt, 'counter', 'crash').catch((error: Error) => console.log(`  the caller got ${error.name}: ${error.message}`));
await counterBack;
console.log('  counter says', await GenServer.call(rt, 'counter', 'next'), '(fresh state after the restart)');
await show('   The counter has a new pid; storage is untouched:');

console.log('3. Kill db: rest_for_one restarts db and the cache started after it:');
const dbBack = restartOf('db');
rt.exit(rt.whereis('db') as Pid, 'kill');
await dbBack;
await show('   db and cache have new pids:');

console.log('4. Crash the counter three more times within 5 s: the 4th restart in 5 s is past intensity 3, so the app supervisor stops everything:');
const appDown = new Promise<unknown>((resolve) => rt.telemetry.on('exit', (e) => e.pid === app && resolve(e.reason)));
for (let i = 0; i < 2; i++) {
  const back = restartOf('counter');
  rt.exit(rt.whereis('counter') as Pid, 'boom');
  await back;
}
rt.exit(rt.whereis('counter') as Pid, 'boom');
console.log(`  app exited with reason ${formatReason(await appDown)}; processes left: ${rt.processCount}`);
