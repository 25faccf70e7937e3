// The loopback LM of bench:pipeline as a process of its own, so that its work is not on the bench's event loop
// (as a real LM would not be): `node --import tsx bench/lm_server.ts --delay-ms 100` prints {"url": ...} and
// serves until stdin closes.

import { startLoopbackLM } from '../test/support/loopback_lm.js';

const at = process.argv.indexOf('--delay-ms');
const server = await startLoopbackLM({ delayMs: at === -1 ? 100 : Number(process.argv[at + 1]) });
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
process.stdin.resume();
process.stdin.on('end', () => void server.close().then(() => process.exit(0)));
