// Worker-thread entry for the SignatureEngine when running from TypeScript sources (vitest, tsx, the bench):
// worker threads do not inherit vitest's transform, so this plain module loads engine_worker.ts through tsx.
// Built packages load the compiled engine_worker.js directly and never use this file.

import { tsImport } from 'tsx/esm/api';

const worker = await tsImport('./engine_worker.ts', import.meta.url);

export default worker.default;
