// The peers' worker side: POST one payment to the master with the given
// Idempotency-Key over a keep-alive pool; resolves on any answer below 500.
'use strict';
const http = require('http');

module.exports = function masterClient(masterUrl) {
  const master = new URL(masterUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  return function postToMaster(key, payload) {
    return new Promise((resolve, reject) => {
      const body = JSON.stringify(payload);
      const req = http.request({
        host: master.hostname, port: master.port, path: '/payments', method: 'POST', agent,
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'Idempotency-Key': key },
      }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode < 500 ? resolve() : reject(new Error('master ' + res.statusCode))));
      });
      req.on('error', reject);
      req.end(body);
    });
  };
};
