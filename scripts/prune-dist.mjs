// A package's prepack: removes from dist/ what no file of src/ compiles to any more (a deleted or renamed
// module), so that the incremental build (`tsc -b`, which never deletes) packs exactly the current sources.
// Run in the package's folder: `node ../../scripts/prune-dist.mjs`.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';

const OUTPUT = /\.(?:js|d\.ts)(?:\.map)?$/;

function prune(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      prune(path);
      if (readdirSync(path).length === 0) rmSync(path, { recursive: true });
      continue;
    }
    if (!OUTPUT.test(entry.name)) continue;
    const source = join('src', relative('dist', path)).replace(OUTPUT, '.ts');
    if (!existsSync(source)) rmSync(path);
  }
}

if (existsSync('dist')) prune('dist');
