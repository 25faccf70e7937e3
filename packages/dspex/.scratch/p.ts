import { parseSignatureText } from '../src/signatures/parser.js';
import { defaultTypeRegistry } from '../src/signatures/registry.js';
const S = "question: str, context: list[str] -> answer: str, confidence: float";
let x: unknown; for (let i = 0; i < 3_000_000; i++) x = parseSignatureText(S, defaultTypeRegistry); console.log(!!x);
