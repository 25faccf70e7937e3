import { pino } from 'pino';
import { Runtime, type Pid, type ProcessContext } from '../src/index.js';
import { BaselineSystem, baselinePingPong } from '../bench/baseline.js';
const game = { total: 0, ping: null as Pid | null, pong: null as Pid | null, done: (): void => undefined };
function player(n: number, self: ProcessContext): void {
  if (n >= game.total) game.done(); else self.send(self.pid === game.ping ? game.pong! : game.ping!, n + 1);
}
function pp(rt: Runtime, total: number) {
  const ping = rt.spawn(player); const pong = rt.spawn(player);
  return new Promise<void>((resolve) => { Object.assign(game, { total, ping, pong, done: resolve }); rt.send(ping, 1); }).then(() => { rt.exit(ping, 'kill'); rt.exit(pong, 'kill'); });
}
const rt = new Runtime({ logger: pino({ level: 'silent' }) });
const sys = new BaselineSystem();
const which = process.argv[2] ?? 'both';
for (let i = 0; i < 10; i++) {
  let line = `run ${i}`;
  if (which !== 'base') { const t = performance.now(); rt.scheduler.maxTickMs = 0; await pp(rt, 1_000_000); line += ` ours ${(performance.now() - t).toFixed(1)} tick ${rt.scheduler.maxTickMs.toFixed(2)}`; }
  if (which !== 'ours') { const t = performance.now(); await baselinePingPong(sys, 1_000_000); line += ` base ${(performance.now() - t).toFixed(1)}`; }
  console.log(line);
}
