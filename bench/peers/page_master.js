// S10's peer for reconciliation: reads the master's whole collection in id
// order over one keep-alive connection, page after page
// (GET {path}?after=ID&limit=CHUNK), and parses each page: what any
// comparison against a master over HTTP must at least do.
// Usage: node page_master.js http://127.0.0.1:PORT /customers CHUNK
'use strict';
const http = require('http');
const [base, path, chunk] = process.argv.slice(2);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
function page(after) {
  return new Promise((resolve, reject) => {
    http.get(`${base}${path}?after=${encodeURIComponent(after)}&limit=${chunk}`, { agent }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(Buffer.concat(parts))) : reject(new Error(`master ${res.statusCode}`))));
    }).on('error', reject);
  });
}
(async () => {
  const t0 = process.hrtime.bigint();
  let after = '', n = 0;
  for (;;) {
    const p = await page(after);
    if (p.items.length === 0) break;
    n += p.items.length;
    after = p.nextAfter;
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`${n} ${s.toFixed(3)}`);
  agent.destroy();
})().catch((e) => { console.error(e.message); process.exit(1); });
