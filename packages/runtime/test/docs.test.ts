// Documentation that cannot drift: every public export of the package (both entry points) carries a doc
// comment, and every ```ts block of README.md not marked `fragment` runs as a program against this
// package's source, so an example that no longer works fails the suite. The checks live in
// scripts/docs_check.mjs, shared by every package's docs test.

import { join } from 'node:path';
import { checkDocComments, runReadmeExamples } from '../../../scripts/docs_check.mjs';

const root = join(import.meta.dirname, '..');

checkDocComments(root, ['src/index.ts', 'src/testing/index.ts']);
runReadmeExamples({ root, imports: { '@dspex/runtime': 'src/index.ts', '@dspex/runtime/testing': 'src/testing/index.ts' }, minExamples: 8 });
