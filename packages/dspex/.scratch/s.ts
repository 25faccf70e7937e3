import { parseSignatureText } from '../src/signatures/parser.js';
import { defaultTypeRegistry } from '../src/signatures/registry.js';
import { Signature } from '../src/signatures/signature.js';
const S = "question: str, context: list[str] -> answer: str, confidence: float";
function bench(name: string, fn: () => unknown, N = 400000) { for (let i = 0; i < 50000; i++) fn(); let best = 1e9; for (let r = 0; r < 5; r++) { const t0 = performance.now(); for (let i = 0; i < N; i++) fn(); best = Math.min(best, (performance.now() - t0) * 1000 / N); } console.log(name, best.toFixed(3), 'us'); }
const scan = () => { let h = 0; for (let i = 0; i < S.length; i++) h = (h * 31 + S.charCodeAt(i)) | 0; return h; };
bench('scan', scan);
bench('parseText', () => parseSignatureText(S, defaultTypeRegistry));
bench('uncached', () => Signature.parseUncached(S));
