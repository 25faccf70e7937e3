// Documentation that cannot drift: every export of the package's entry point has a doc comment and is used by a
// runnable README block, and every ```ts block of README.md not marked `fragment` runs as a program (on loopback
// servers and in-process LMs the examples start; the pipelines, sessions and Python-twin ones on
// @dspex/orchestration).

import { join } from 'node:path';
import { checkDocComments, runReadmeExamples } from '../../../scripts/docs_check.mjs';
import { checkReadmeCoversExports } from '../../../scripts/readme_exports.mjs';

const root = join(import.meta.dirname, '..');
const packages = join(root, '..');

checkDocComments(root, ['src/index.ts']);
checkReadmeCoversExports(root, ['src/index.ts'], {
  // Never reaches a caller: an example stopped because its evaluation was cancelled or stopped ends with it, and
  // EvaluationCancelled / MaxErrorsExceeded report only the examples that finished (the README's Errors table names it).
  ExampleCancelled: 'no caller sees it',
  // Thrown by @dspex/orchestration's Python optimizers when DSPy fails in a Python pool; provoking it needs Python
  // workers (orchestration's test/python/python_optimizer.test.ts does), which this package's docs do not start.
  PythonOptimizationError: 'needs a Python pool',
});
runReadmeExamples({
  root,
  imports: {
    dspex: 'src/index.ts',
    '@dspex/runtime': join(packages, 'runtime/src/index.ts'),
    '@dspex/runtime/testing': join(packages, 'runtime/src/testing/index.ts'),
    '@dspex/python-bridge': join(packages, 'python-bridge/src/index.ts'),
    // The sections on pipelines, sessions and Python twins run against the packages above dspex, read from their
    // sources by path: dspex does not depend on them (no package.json entry, no build reference), so no cycle.
    '@dspex/orchestration': join(packages, 'orchestration/src/index.ts'),
    '@dspex/store': join(packages, 'store/src/index.ts'),
  },
  minExamples: 2,
  timeoutMs: 40_000,
});
