import { getLlama, LlamaChat } from 'node-llama-cpp';
const llama = await getLlama({ gpu: false });
const model = await llama.loadModel({ modelPath: process.argv[2] });
const threads = Number(process.argv[3]);
const ctx = await model.createContext({ contextSize: 1024, sequences: 1, threads, batchSize: 512 });
const chat = new LlamaChat({ contextSequence: ctx.getSequence() });
for (let i = 0; i < 2; i++) {
const t1 = performance.now();
let n = 0;
const r = await chat.generateResponse([{ type: 'user', text: 'Write a long story about a dragon.' }, { type: 'model', response: [] }], { maxTokens: 64, temperature: 0, onToken: (t) => n += t.length });
const ms = performance.now() - t1;
console.log(threads, n, ms.toFixed(0), (n / ms * 1000).toFixed(1), 'tok/s');
}
