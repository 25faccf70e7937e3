// Public API of usage, cost and history. Only re-exports.
export { UsageTracker, mergeUsage, toDspyUsage, toDspyLmUsage, type LMUsageByModel } from './tracker.js';
export { registerPrices, resetPrices, priceOf, costOf, costAt, usageCost, BUILT_IN_PRICES_DATE, type ModelPrice, type LMCost } from './prices.js';
export { globalHistory, clearGlobalHistory, HistoryBuffer, MAX_GLOBAL_HISTORY_SIZE, type HistoryEntry } from './history.js';
export { inspectHistory, formatHistory, printHistory, type InspectHistoryOptions } from './inspect_history.js';
