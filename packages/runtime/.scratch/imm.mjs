let last = performance.now(), gaps = [];
const iv = setInterval(() => { const t = performance.now(); const g = t - last; if (g > 3) gaps.push(+g.toFixed(1)); last = t; }, 1);
let ticks = 0;
const arr = [];
function tick() {
  const d = performance.now() + 2;
  while (performance.now() < d) { arr.push({a: ticks}); if (arr.length > 1000) arr.length = 0; }
  if (++ticks < 50) setImmediate(tick); else { clearInterval(iv); console.log('gaps', gaps); }
}
setImmediate(tick);
