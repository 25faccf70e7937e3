// Documentation that cannot drift: every export of the package's entry point has a doc comment, and every
// ```ts block of README.md not marked `fragment` runs as a program (on loopback servers the examples start,
// the embedded model and real Python workers; the pipelines and sessions one on @dspex/orchestration).

import { join } from 'node:path';
import { checkDocComments, runReadmeExamples } from '../../../scripts/docs_check.mjs';

const root = join(import.meta.dirname, '..');
const packages = join(root, '..');

checkDocComments(root, ['src/index.ts']);
runReadmeExamples({
  root,
  imports: {
    dspex: 'src/index.ts',
    '@dspex/runtime': join(packages, 'runtime/src/index.ts'),
    '@dspex/runtime/testing': join(packages, 'runtime/src/testing/index.ts'),
    '@dspex/python-bridge': join(packages, 'python-bridge/src/index.ts'),
    // The section on pipelines and sessions runs against the packages above dspex, read from their sources by
    // path: dspex does not depend on them (no package.json entry, no build reference), so no cycle.
    '@dspex/orchestration': join(packages, 'orchestration/src/index.ts'),
    '@dspex/store': join(packages, 'store/src/index.ts'),
  },
  minExamples: 2,
  timeoutMs: 40_000,
});
