// Puts the Python worker (the repository's python/: the dspex_bridge package) inside this package while it is
// packed, so an installed @dspex/python-bridge carries the worker of its own version:
// `pip install ./node_modules/@dspex/python-bridge/python`. prepack copies it; postpack (--remove) deletes it.
import { cpSync, existsSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDir = dirname(dirname(fileURLToPath(import.meta.url)));
const source = join(packageDir, '..', '..', 'python');
const target = join(packageDir, 'python');

rmSync(target, { recursive: true, force: true });
if (process.argv.includes('--remove')) process.exit(0);

if (!existsSync(join(source, 'pyproject.toml'))) {
  console.error(`pack-python: no Python worker at ${source}; pack @dspex/python-bridge from a clone of the DSPex repository.`);
  process.exit(1);
}
// Only what pip needs to build and install dspex_bridge: no tests, caches or build leftovers.
const skipped = new Set(['__pycache__', '.pytest_cache', 'build', 'dist']);
for (const entry of ['pyproject.toml', 'README.md', 'src']) {
  cpSync(join(source, entry), join(target, entry), {
    recursive: true,
    filter: (path) => !skipped.has(basename(path)) && !path.endsWith('.egg-info') && !path.endsWith('.pyc'),
  });
}
