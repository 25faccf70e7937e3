// Public API of the embedded default LM (SmolLM2-135M-Instruct on node-llama-cpp, in its own process).
export { LocalLM, LocalLMStartError, LOCAL_MODEL_ID, type LocalLMOptions, type LocalLMInfo, type LocalLMStarted } from './local_lm.js';
export { findLocalModel, LocalModelNotFound } from './model_path.js';
export { measureTokensPerSecond, type TokensPerSecond } from './measure.js';
