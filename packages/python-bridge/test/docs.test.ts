// Documentation that cannot drift: every export of the package's entry point has a doc comment, and every
// ```ts block of README.md not marked `fragment` runs as a program (with real Python workers), and every export
// is used by one of those blocks.

import { join } from 'node:path';
import { checkDocComments, runReadmeExamples } from '../../../scripts/docs_check.mjs';
import { checkReadmeCoversExports } from '../../../scripts/readme_exports.mjs';

const root = join(import.meta.dirname, '..');
const runtime = join(root, '../runtime/src');

checkDocComments(root, ['src/index.ts']);
checkReadmeCoversExports(root, ['src/index.ts']);
runReadmeExamples({
  root,
  imports: { '@dspex/python-bridge': 'src/index.ts', '@dspex/runtime': join(runtime, 'index.ts'), '@dspex/runtime/testing': join(runtime, 'testing/index.ts') },
  minExamples: 2,
  timeoutMs: 30_000,
});
