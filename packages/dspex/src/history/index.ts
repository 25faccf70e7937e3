// Public API of the LM call history (lm.history, inspectHistory). Only re-exports.
export { globalHistory, clearGlobalHistory, HistoryBuffer, MAX_GLOBAL_HISTORY_SIZE, type HistoryEntry } from './history.js';
export { inspectHistory, formatHistory, printHistory, type InspectHistoryOptions } from './inspect_history.js';
