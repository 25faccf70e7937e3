// Public API of @dspex/orchestration. Only re-exports; see README.md for the guide.
export * from './application/index.js';
export * from './router/index.js';
export * from './python/index.js';
export * from './pipelines/index.js';
export * from './sessions/index.js';
export * from './variables/index.js';
export * from './optimize/index.js';
export * from './learner/index.js';
