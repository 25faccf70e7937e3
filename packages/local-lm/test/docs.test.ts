// Documentation that cannot drift: every export of the package's entry point has a doc comment, and every
// ```ts block of README.md not marked `fragment` runs as a program (on the embedded model), and every export is
// used by one of those blocks.

import { join } from 'node:path';
import { checkDocComments, runReadmeExamples } from '../../../scripts/docs_check.mjs';
import { checkReadmeCoversExports } from '../../../scripts/readme_exports.mjs';

const root = join(import.meta.dirname, '..');
const packages = join(root, '..');

checkDocComments(root, ['src/index.ts']);
checkReadmeCoversExports(root, ['src/index.ts']);
runReadmeExamples({
  root,
  imports: {
    '@dspex/local-lm': 'src/index.ts',
    dspex: join(packages, 'dspex/src/index.ts'),
    '@dspex/runtime': join(packages, 'runtime/src/index.ts'),
  },
  minExamples: 1,
  timeoutMs: 120_000,
});
