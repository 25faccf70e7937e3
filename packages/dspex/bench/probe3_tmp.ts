import { Runtime } from '@dspex/runtime';
import { pino } from 'pino';
import { Predict } from '../src/predict/predict.js';
import { evaluate } from '../src/evaluate/index.js';
import { Example } from '../src/primitives/example.js';
import { Prediction } from '../src/primitives/prediction.js';
const rt = new Runtime({ logger: pino({ level: 'warn' }) });
const C = Number(process.env.C ?? 64), N = Number(process.env.N ?? 20000);
const ds = (n: number) => Array.from({ length: n }, (_, i) => new Example({ question: `What is ${i} + 1?`, answer: String(i + 1) }).withInputs('question'));
const fake = { model: 'f', defaults: {}, call: async () => ({ outputs: [{ text: '[[ ## answer ## ]]\n3\n\n[[ ## completed ## ]]' }], usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 }, model: 'f', cached: false }) };
const pf = new Predict('question -> answer'); pf.lm = fake as any;
const noop = { call: async () => new Prediction({ answer: '1' }) };
const data = ds(N);
for (let k = 0; k < 3; k++) {
  for (const [name, prog] of [['noop', noop], ['predict', pf]] as const) {
    const t0 = performance.now(), c0 = process.cpuUsage();
    await evaluate(prog, data, () => 1, { runtime: rt, concurrency: C });
    const cpu = process.cpuUsage(c0);
    console.log(name, ((performance.now() - t0) * 1000 / N).toFixed(1), 'us wall/ex', ((cpu.user + cpu.system) / N).toFixed(1), 'us cpu/ex');
  }
}
await rt.shutdown();
