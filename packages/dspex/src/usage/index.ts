// Public API of usage and cost. Only re-exports.
export { UsageTracker, mergeUsage, toDspyUsage, toDspyLmUsage, type LMUsageByModel } from './tracker.js';
export { registerPrices, resetPrices, priceOf, costOf, costAt, usageCost, BUILT_IN_PRICES_DATE, type ModelPrice, type LMCost } from './prices.js';
