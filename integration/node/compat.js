'use strict';
// A real Node Hydra 1.9.3 service for hydrakit's compatibility tests (integration/compat_*_test.go),
// driven like peer.js: requests {"id":1,"op":"call","method":"...","args":[...]} on stdin, answers
// {"id":1,"result":...} or {"id":1,"error":"..."} and events {"event":"ready",...} on stdout.
//
// Unlike peer.js it takes the whole hydra config from COMPAT_CONFIG (a JSON object merged over
// {serviceName, redis.url}), so a test can give Node exactly the fields it gives a Go Registrar
// (serviceVersion, serviceType, ...). With COMPAT_HTTP=1 it also serves HTTP on the port hydra
// registered, as a hydra-express service does: every request is answered with hydra-express's
// response shape, echoing the method, path and JSON body.
const http = require('http');
const readline = require('readline');
const hydra = require('hydra');

const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

function serve(port, ip) {
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let body = null;
      try {
        body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : null;
      } catch (e) {
        body = { unparsable: e.message };
      }
      res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify({
        statusCode: 200,
        statusMessage: 'OK',
        statusDescription: 'Request succeeded without error',
        result: { service: hydra.getServiceName(), instanceID: hydra.getInstanceID(), method: req.method, path: req.url, body },
      }));
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(port), ip, () => resolve(server));
  });
}

async function main() {
  const config = { hydra: Object.assign({ serviceName: 'compat', redis: {} }, JSON.parse(process.env.COMPAT_CONFIG || '{}')) };
  config.hydra.redis = Object.assign({ url: process.env.COMPAT_REDIS_URL }, config.hydra.redis);
  await hydra.init(config);
  const registered = await hydra.registerService();
  let server = null;
  if (process.env.COMPAT_HTTP === '1') {
    server = await serve(registered.servicePort, registered.serviceIP);
  }
  emit({ event: 'ready', instanceID: hydra.getInstanceID(), serviceName: hydra.getServiceName(), port: registered.servicePort });

  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', async (line) => {
    let req;
    try {
      req = JSON.parse(line);
    } catch (e) {
      emit({ error: `bad request line: ${e.message}` });
      return;
    }
    try {
      if (req.op !== 'call') throw new Error(`no op ${req.op}`);
      const { method, args } = req.args || {};
      if (typeof hydra[method] !== 'function') throw new Error(`no hydra method ${method}`);
      const result = await hydra[method](...(args || []));
      emit({ id: req.id, result: result === undefined ? null : result });
    } catch (e) {
      emit({ id: req.id, error: String((e && e.message) || e) });
    }
  });
  rl.on('close', () => {
    if (server) server.close();
    hydra.shutdown().finally(() => process.exit(0));
  });
}

main().catch((e) => { emit({ event: 'fatal', error: String((e && e.stack) || e) }); process.exit(1); });
