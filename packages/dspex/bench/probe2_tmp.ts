import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import http from 'node:http';
const child = spawn(process.execPath, ['--import', 'tsx', 'bench/openai_server.ts', '--latency-ms', process.env.LAT ?? '0'], { stdio: ['pipe', 'pipe', 'inherit'] });
const line = await new Promise<string>((r) => createInterface({ input: child.stdout! }).once('line', r));
const { url, port } = JSON.parse(line);
const body = JSON.stringify({ model: 'x', messages: [{ role: 'user', content: '[[ ## question ## ]]\nWhat is 1 + 2?\n\n' }] });
async function pool(c: number, n: number, fn: () => Promise<unknown>) {
  let next = 0; const t0 = performance.now(); const cpu0 = process.cpuUsage();
  await Promise.all(Array.from({ length: c }, async () => { while (next++ < n) await fn(); }));
  const s = (performance.now() - t0) / 1000; const cpu = process.cpuUsage(cpu0);
  return `${(n / s).toFixed(1)} ex/s cycle ${(1000 * s * c / n).toFixed(1)}ms client-cpu/req ${((cpu.user + cpu.system) / n).toFixed(0)}us`;
}
const raw = () => fetch(`${url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then((r) => r.text());
const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });
const viaHttp = () => new Promise<string>((resolve, reject) => {
  const req = http.request({ host: '127.0.0.1', port, path: '/v1/chat/completions', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => { let d = ''; res.setEncoding('utf8'); res.on('data', (c) => (d += c)); res.on('end', () => resolve(d)); });
  req.on('error', reject); req.end(body);
});
for (let k = 0; k < 2; k++) {
console.log('fetch c64', await pool(64, 2000, raw));
console.log('http c64', await pool(64, 2000, viaHttp));
}
child.kill();
