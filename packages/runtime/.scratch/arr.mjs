const N = 5_000_000;
function run(name, f) {
  const a = [];
  const before = process.memoryUsage().heapUsed; let t = performance.now();
  f(a);
  const ms = performance.now() - t;
  console.log(name, ms.toFixed(1), 'ms');
}
const { PerformanceObserver } = await import('node:perf_hooks');
let gcs = 0; new PerformanceObserver((l) => { gcs += l.getEntries().length; }).observe({ entryTypes: ['gc'] });
const tick = () => new Promise((r) => setTimeout(r, 20));
for (const [name, f] of [
  ['len0', (a) => { let h = 0; for (let i = 0; i < N; i++) { a.push(i); a[h++] = undefined; if (h === a.length) { a.length = 0; h = 0; } } }],
  ['pop', (a) => { for (let i = 0; i < N; i++) { a.push(i); a.pop(); } }],
  ['keep', (a) => { let h = 0, t = 0; for (let i = 0; i < N; i++) { if (t < a.length) a[t++] = i; else { a.push(i); t++; } a[h++] = undefined; if (h === t) { h = 0; t = 0; } } }],
]) { gcs = 0; run(name, f); await tick(); console.log('  gcs', gcs); }
