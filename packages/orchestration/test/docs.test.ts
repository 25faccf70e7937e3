// Documentation that cannot drift: every public export of @dspex/orchestration carries a doc comment, and every
// ```ts block of README.md not marked `fragment` runs as a program against this package's source. The checks
// live in scripts/docs_check.mjs, shared by every package's docs test.

import { join } from 'node:path';
import { checkDocComments, runReadmeExamples } from '../../../scripts/docs_check.mjs';

const root = join(import.meta.dirname, '..');

checkDocComments(root, ['src/index.ts']);
// The application tree's example loads the embedded model: allow it a minute.
runReadmeExamples({ root, imports: { '@dspex/orchestration': 'src/index.ts' }, minExamples: 1, timeoutMs: 60_000 });
