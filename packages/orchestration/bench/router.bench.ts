// `npm run bench:router`: what the Router adds to a call, Router.decide() on a warm router, mean over 200,000
// decisions, the call itself excluded (moved from bench:evaluate with the router). Target: at most 10 µs.
// The last stdout line is one JSON object.

import { measureRouterOverhead } from '../src/index.js';

const routerOverheadNs = measureRouterOverhead().nsPerDecision;
const round = (value: number, digits = 3): number => Number(value.toFixed(digits));
console.log(`router decision          ${round(routerOverheadNs / 1000)} µs   target <= 10 µs`);
console.log(JSON.stringify({ router_overhead_us: round(routerOverheadNs / 1000), targets: { router_overhead_at_most_10_us: routerOverheadNs <= 10_000 }, node: process.version }));
