import { test } from 'vitest';
import pino from 'pino';
import { Runtime } from '@dspex/runtime';
import { LocalLM } from '../src/local_lm/index.js';
import { Predict } from '../src/predict/predict.js';
import { JSONAdapter } from '../src/adapters/json_adapter.js';
import { withSettings } from '../src/primitives/settings.js';
test('probe', async () => {
  const rt = new Runtime({ logger: pino({ level: 'silent' }) });
  const t0 = Date.now();
  const started = await LocalLM.start(rt, { gpu: false });
  try {
    console.log('started', Date.now() - t0, started.info);
    const t1 = Date.now();
    const r = await started.lm.call({ messages: [{ role: 'user', content: 'Say hi' }], config: { max_tokens: 20 } });
    console.log(Date.now() - t1, JSON.stringify(r));
    const t2 = Date.now();
    const p = await withSettings({ adapter: new JSONAdapter() }, () => new Predict('question -> answer').call({ question: 'What is the capital of France?' }, { lm: started.lm }));
    console.log(Date.now() - t2, p.toDict());
    const t3 = Date.now();
    try { const q = await new Predict('question -> answer').call({ question: 'What is the capital of France?' }, { lm: started.lm }); console.log('chat', Date.now() - t3, q.toDict()); } catch (e) { console.log('chat err', Date.now() - t3, String(e).slice(0, 300)); }
  } finally {
    await started.stop();
    await rt.shutdown();
  }
}, 120000);
