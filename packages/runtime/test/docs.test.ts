// Documentation that cannot drift: every public export of the package (both entry points) carries a doc
// comment, and every ```ts block of README.md not marked `fragment` runs as a program against this
// package's source, so an example that no longer works fails the suite; and every export is used by one of
// those blocks. The checks live in scripts/docs_check.mjs and scripts/readme_exports.mjs, shared by every
// package's docs test.

import { join } from 'node:path';
import { checkDocComments, runReadmeExamples } from '../../../scripts/docs_check.mjs';
import { checkReadmeCoversExports } from '../../../scripts/readme_exports.mjs';

const root = join(import.meta.dirname, '..');

checkDocComments(root, ['src/index.ts', 'src/testing/index.ts']);
checkReadmeCoversExports(root, ['src/index.ts', 'src/testing/index.ts'], {
  // The type-level record that ServerRef and ServerPid carry; code names those (README "GenServer"), never it.
  ServerProtocol: 'type-level plumbing of ServerRef and ServerPid',
});
runReadmeExamples({ root, imports: { '@dspex/runtime': 'src/index.ts', '@dspex/runtime/testing': 'src/testing/index.ts' }, minExamples: 8 });
