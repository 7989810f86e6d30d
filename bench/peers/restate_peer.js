// S3/S4 and S11 peer: Restate (restate-server from npm) with a Node service
// whose handler POSTs the payment to the master, as Writ's worker does, and
// one that books a trip in three calls, as Writ's saga route does. Clients
// send to Restate's ingress, one-way with an idempotency key:
//   POST /payments/submit/send   (idempotency-key: K)  -> 202 {invocationId}
// Restate journals the invocation durably before answering, runs the handler,
// and retries it until it succeeds. This process serves:
//   the service endpoint (HTTP/2, for restate-server)   on SERVICE_PORT
//   GET /_depth  (invocations not yet completed)         on DEPTH_PORT
//   node restate_peer.js SERVICE_PORT DEPTH_PORT ADMIN_URL MASTER_URL
'use strict';
const http = require('http');
const restate = require('@restatedev/restate-sdk');

const [servicePort, depthPort, adminUrl, masterUrl] = process.argv.slice(2);
const postToMaster = require('./master_client')(masterUrl);

const payments = restate.service({
  name: 'payments',
  handlers: {
    submit: async (ctx, payment) => {
      // The client's key, else the invocation id: stable across Restate's retries.
      const key = ctx.request().headers.get('idempotency-key') || ctx.request().id;
      await ctx.run('master', () => postToMaster(key, payment));
    },
  },
});
// S11 peer: the same three calls as Writ's saga route /trips, one after the
// other, each journaled (ctx.run) so a retried invocation does not repeat a
// call that completed; the next call takes the previous answer's id. The
// car's body carries the client's `sentAt` when it sent one (S11 latency).
const trips = restate.service({
  name: 'trips',
  handlers: {
    book: async (ctx, input) => {
      const key = ctx.request().headers.get('idempotency-key') || ctx.request().id;
      const flight = await ctx.run('flight', () =>
        postToMaster(key + ':flight', { account: input.accountId, amount: input.amount }, '/flights'));
      const hotel = await ctx.run('hotel', () =>
        postToMaster(key + ':hotel', { account: input.accountId, flight: flight && flight.id }, '/hotels'));
      const car = { account: input.accountId, hotel: hotel && hotel.id };
      if (input.sentAt !== undefined) car.sentAt = input.sentAt;
      await ctx.run('car', () => postToMaster(key + ':car', car, '/cars'));
    },
  },
});
restate.endpoint().bind(payments).bind(trips).listen(Number(servicePort));

// Invocations of the service not yet completed, from Restate's SQL introspection.
function depth() {
  return new Promise((resolve, reject) => {
    const admin = new URL('/query', adminUrl);
    const body = JSON.stringify({
      query: "SELECT count(*) AS n FROM sys_invocation_status WHERE target_service_name IN ('payments', 'trips') " +
        "AND status != 'completed'",
    });
    const req = http.request(admin, {
      method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    }, (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => {
        const m = /"n"\s*:\s*(\d+)/.exec(text);
        if (res.statusCode !== 200 || !m) reject(new Error(`admin query ${res.statusCode}: ${text.slice(0, 200)}`));
        else resolve(Number(m[1]));
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

http.createServer((req, res) => {
  depth().then((n) => res.end(JSON.stringify({ depth: n })), (e) => { res.statusCode = 500; res.end(e.message); });
}).listen(Number(depthPort), '127.0.0.1');
