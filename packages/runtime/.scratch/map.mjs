const N = 1_111_111;
class P { constructor(id) { this.id = id; this.a = null; this.b = null; this.c = 0; this.prev = null; this.next = null; } }
for (let r = 0; r < 3; r++) {
  let t = performance.now();
  const objs = []; for (let i = 0; i < N; i++) objs.push(new P(i));
  const tAlloc = performance.now() - t;
  t = performance.now();
  const m = new Map(); for (const o of objs) m.set(o.id, o);
  const tMapSet = performance.now() - t; t = performance.now();
  const s = new Set(); for (const o of objs) s.add(o);
  const tSetAdd = performance.now() - t; t = performance.now();
  for (const o of objs) m.delete(o.id);
  const tMapDel = performance.now() - t; t = performance.now();
  for (const o of objs) s.delete(o);
  const tSetDel = performance.now() - t; t = performance.now();
  let head = null, tail = null;
  for (const o of objs) { o.prev = tail; if (tail) tail.next = o; else head = o; tail = o; }
  for (const o of objs) { if (o.prev) o.prev.next = o.next; else head = o.next; if (o.next) o.next.prev = o.prev; else tail = o.prev; o.prev = o.next = null; }
  const tList = performance.now() - t;
  console.log({ tAlloc, tMapSet, tSetAdd, tMapDel, tSetDel, tList });
}
