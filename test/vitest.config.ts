import { packageConfig } from '../vitest.shared.js';

// Chaos tests start real Python workers and kill them: generous timeouts, one file at a time (the machine
// has two cores and the tests measure that nothing hangs, not how fast it goes). pack/ packs the packages and
// installs them outside the workspace (its own time budget, under 3 minutes). http_service.test.ts runs
// examples/http-service.ts as a child process and kills parts of its tree mid-request; pipeline_example.test.ts
// runs examples/pipeline.ts (a durable pipeline killed with SIGKILL and resumed).
export default packageConfig({
  test: { include: ['chaos/**/*.test.ts', 'pack/**/*.test.ts', 'http_service.test.ts', 'pipeline_example.test.ts'], testTimeout: 90_000, hookTimeout: 30_000, fileParallelism: false },
});
