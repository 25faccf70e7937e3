// Reads a V8 .cpuprofile (node --cpu-prof) and prints where the time went: self time by function and by
// file, the top entries of each. Usage: node bench/profile_summary.ts PROFILE.cpuprofile [top] [items]

import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [path, topArg, itemsArg] = process.argv.slice(2);
const top = Number(topArg ?? 40);
/** With a count of items (examples, requests), figures are µs per item instead of percentages. */
const items = itemsArg === undefined ? undefined : Number(itemsArg);
const profile = JSON.parse(readFileSync(path!, 'utf8')) as Profile;
const total = profile.nodes.reduce((sum, n) => sum + n.hitCount, 0);
const sampledUs = profile.timeDeltas.reduce((sum, d) => sum + d, 0);
const figure = (hits: number): string => (items === undefined ? `${((100 * hits) / total).toFixed(1).padStart(5)}%` : `${((hits / total) * sampledUs / items).toFixed(1).padStart(6)}µs`);
const byFunction = new Map<string, number>();
const byFile = new Map<string, number>();
const inclusive = new Map<string, number>();
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const keyOf = (node: ProfileNode): string => {
  const file = node.callFrame.url.replace(/^.*\/(node_modules|packages)\//, '$1/') || '(native)';
  return `${node.callFrame.functionName || '(anonymous)'} ${file}:${node.callFrame.lineNumber + 1}:${node.callFrame.columnNumber + 1}`;
};
for (const node of profile.nodes) {
  const file = node.callFrame.url.replace(/^.*\/(node_modules|packages)\//, '$1/') || '(native)';
  byFunction.set(keyOf(node), (byFunction.get(keyOf(node)) ?? 0) + node.hitCount);
  byFile.set(file, (byFile.get(file) ?? 0) + node.hitCount);
}
// Inclusive time: a function's own samples and its callees', counted once per stack even when it recurses.
const walk = (node: ProfileNode, onStack: Set<string>): number => {
  let sum = node.hitCount;
  const key = keyOf(node);
  const fresh = !onStack.has(key);
  if (fresh) onStack.add(key);
  for (const child of node.children ?? []) sum += walk(nodes.get(child)!, onStack);
  if (fresh) {
    onStack.delete(key);
    inclusive.set(key, (inclusive.get(key) ?? 0) + sum);
  }
  return sum;
};
walk(profile.nodes[0]!, new Set());
const print = (title: string, map: Map<string, number>): void => {
  console.log(`\n${title}`);
  for (const [name, hits] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${figure(hits)}  ${name}`);
};
print('self time by file', byFile);
print('self time by function', byFunction);
print('inclusive time by function', inclusive);
