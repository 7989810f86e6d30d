// S3/S4 peers: the Postgres job queues people put behind an API instead of
// Writ, each behind a minimal Node HTTP handler, as an API would use them:
//   POST /payments  (Idempotency-Key)  -> add one job, answer 202 {jobId}
//   GET  /_depth                       -> jobs not yet finished
// and a worker in the same process that POSTs each job to the master with
// the same Idempotency-Key, as Writ's worker does (graphile-worker: concurrency
// 16; pg-boss: 4 workers fetching 64 jobs each).
//   node queue_peer.js graphile|pgboss PORT DATABASE_URL MASTER_URL
'use strict';
const http = require('http');
const crypto = require('crypto');

const [kind, port, databaseUrl, masterUrl] = process.argv.slice(2);
const postToMaster = require('./master_client')(masterUrl);
const CONCURRENCY = 16;
const PGBOSS_WORKERS = 4;
const PGBOSS_BATCH = 64;

async function graphile() {
  const { run, makeWorkerUtils, Logger } = require('graphile-worker');
  const logger = new Logger(() => () => {});  // a log line per job would cost the peer its CPU
  const utils = await makeWorkerUtils({ connectionString: databaseUrl, logger });
  await utils.migrate();
  await run({
    connectionString: databaseUrl, concurrency: CONCURRENCY, noHandleSignals: true, pollInterval: 1000, logger,
    taskList: { payment: async (p) => postToMaster(p.key, p.body) },
  });
  const { Pool } = require('pg');
  const pool = new Pool({ connectionString: databaseUrl, max: 2 });
  return {
    // jobKey + unsafe_dedupe: a retried request with the same key adds nothing.
    add: async (key, body) => (await utils.addJob('payment', { key, body }, { jobKey: key, jobKeyMode: 'unsafe_dedupe' })).id,
    depth: async () => Number((await pool.query('SELECT count(*) FROM graphile_worker._private_jobs')).rows[0].count),
  };
}

async function pgboss() {
  const PgBoss = require('pg-boss');
  const boss = new PgBoss({ connectionString: databaseUrl, max: 10 });
  boss.on('error', (e) => console.error(e.message));
  await boss.start();
  await boss.createQueue('payment');
  // A pg-boss worker fetches a batch, runs it, then waits out the polling
  // interval (0.5 s at least): one worker of 16 drains 32 jobs/s. Four workers
  // of 64 jobs each at the minimum interval let it reach ~500 jobs/s.
  for (let w = 0; w < PGBOSS_WORKERS; ++w) {
    await boss.work('payment', { batchSize: PGBOSS_BATCH, pollingIntervalSeconds: 0.5 },
      async (jobs) => { await Promise.all(jobs.map((j) => postToMaster(j.data.key, j.data.body))); });
  }
  // A job id derived from the key: a retried request with the same key adds nothing.
  const idFor = (key) => {
    const h = crypto.createHash('sha256').update(key).digest('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
  };
  return {
    add: async (key, body) => (await boss.send('payment', { key, body }, { id: idFor(key) })) || idFor(key),
    depth: async () => boss.getQueueSize('payment'),
  };
}

(async () => {
  const queue = kind === 'graphile' ? await graphile() : await pgboss();
  http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/_depth') {
      queue.depth().then((n) => res.end(JSON.stringify({ depth: n })), (e) => { res.statusCode = 500; res.end(e.message); });
      return;
    }
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const key = req.headers['idempotency-key'];
      if (req.method !== 'POST' || !key) { res.statusCode = 400; res.end(); return; }
      queue.add(key, JSON.parse(body)).then((id) => {
        res.writeHead(202, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ jobId: String(id) }));
      }, (e) => { res.statusCode = 503; res.end(e.message); });
    });
  }).listen(Number(port), '127.0.0.1', () => console.log(JSON.stringify({ msg: 'listening', kind, port: Number(port) })));
})().catch((e) => { console.error(e); process.exit(1); });
