const N = 5_000_000;
const { PerformanceObserver } = await import('node:perf_hooks');
let gcs = 0; new PerformanceObserver((l) => { gcs += l.getEntries().length; }).observe({ entryTypes: ['gc'] });
const tick = () => new Promise((r) => setTimeout(r, 20));
for (const k of [1, 2, 5, 20, 100]) {
  for (const [name, drain] of [['len0', (a) => { a.length = 0; }], ['len1pop', (a) => { if (a.length > 1) a.length = 1; a.pop(); }], ['poploop', (a) => { if (a.length > 16) a.length = 0; else while (a.length > 0) a.pop(); }]]) {
    const a = []; gcs = 0; const t = performance.now();
    for (let i = 0; i < N / k; i++) { for (let j = 0; j < k; j++) a.push(j); let h = 0; while (h < a.length) { a[h++] = undefined; } drain(a); }
    const ms = performance.now() - t; await tick();
    console.log(k, name, ms.toFixed(1), 'gcs', gcs);
  }
}
