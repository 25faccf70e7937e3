import { ChatAdapter } from '../src/adapters/chat_adapter.js';
import { Signature } from '../src/signatures/signature.js';
import { compileSignature } from '../src/signatures/compiler.js';
const S = 'question: str, context: list[str] -> answer: str, confidence: float';
const DEMOS = [0, 1, 2].map((i) => ({ question: `Demo question ${i}?`, context: [`fact ${i}a`, `fact ${i}b`], answer: `answer ${i}`, confidence: 0.5 + i / 10 }));
const INPUTS = { question: 'Who wrote Hamlet?', context: ['Shakespeare wrote plays.', 'Hamlet is a tragedy.'] };
const sig = Signature.parse(S); const chat = new ChatAdapter(); const c = compileSignature(sig);
const EX = { ...INPUTS, answer: 'x', confidence: 0.9 };
let x: unknown;
for (let i = 0; i < 300_000; i++) { x = chat.format(sig, DEMOS, INPUTS); x = c.validateInputs(EX); x = c.validateOutputs(EX); }
console.log(!!x);
