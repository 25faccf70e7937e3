// The vitest settings every package shares: resolve workspace packages to their TypeScript sources (the
// `development` export condition) and wait up to 20 s for a test or hook. Each package's vitest.config.ts
// is this, plus what is its own.
import { defineConfig, mergeConfig, type ViteUserConfig } from 'vitest/config';

export function packageConfig(overrides: ViteUserConfig = {}): ViteUserConfig {
  return mergeConfig(
    defineConfig({
      resolve: { conditions: ['development'] },
      test: { include: ['test/**/*.test.ts'], testTimeout: 20_000, hookTimeout: 20_000 },
    }),
    overrides,
  );
}
