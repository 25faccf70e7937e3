// mimic: setImmediate loop, 2ms ticks, heavy young-gen allocation
const t0 = performance.now();
let last = performance.now(), gaps = [];
const iv = setInterval(() => { const t = performance.now(); const g = t - last; if (g > 3) gaps.push(`${(t-t0).toFixed(0)}:${g.toFixed(1)}`); last = t; }, 1);
let ticks = 0;
let mq = [];
const alloc = process.argv[2] === 'alloc';
function tick() {
  const d = performance.now() + 2;
  let i = 0;
  for (;;) { if (alloc) { mq.push(i); mq.length = 0; } if ((++i & 255) === 0 && performance.now() >= d) break; }
  if (++ticks < 70) setImmediate(tick); else { clearInterval(iv); console.log('gaps', gaps); }
}
setImmediate(tick);
