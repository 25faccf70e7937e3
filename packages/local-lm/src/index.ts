// Public API of @dspex/local-lm: the embedded default LM (SmolLM2-135M-Instruct on node-llama-cpp, in its own
// process). Only re-exports; see README.md for the guide.
export { LocalLM, LocalLMStartError, LOCAL_MODEL_ID, type LocalLMOptions, type LocalLMInfo, type LocalLMStarted, type LocalLMClientOptions } from './local_lm.js';
export { findLocalModel, LocalModelNotFound } from './model_path.js';
export { measureTokensPerSecond, type TokensPerSecond, type MeasuredLM } from './measure.js';
