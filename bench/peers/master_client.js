// The peers' worker side: POST one payment to the master with the given
// Idempotency-Key over a keep-alive pool; resolves on any answer below 500
// (with its JSON body, for a saga's next step).
'use strict';
const http = require('http');

module.exports = function masterClient(masterUrl) {
  const master = new URL(masterUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  // PATH defaults to /payments; resolves with the master's JSON answer (or null).
  return function postToMaster(key, payload, path = '/payments') {
    return new Promise((resolve, reject) => {
      const body = JSON.stringify(payload);
      const req = http.request({
        host: master.hostname, port: master.port, path, method: 'POST', agent,
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'Idempotency-Key': key },
      }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => { text += c; });
        res.on('end', () => {
          if (res.statusCode >= 500) return reject(new Error('master ' + res.statusCode));
          let answer = null;
          try { answer = JSON.parse(text); } catch (e) { answer = null; }
          resolve(answer);
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  };
};
