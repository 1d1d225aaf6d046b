'use strict';
// A real hydra-express 1.9.5 service behind hydrakit-router (router_http_test.go, router_ws_test.go).
// It registers its routes and presence as hydra-express does, under /v1/<service> (so that several
// of them and a Go service never share a route), and answers every request with what it received,
// so that the test checks the bytes on the service side: method, URL, content type, length and
// SHA-256 of the raw body, and the x-hydra-tracer header. Every request that reaches the service's
// routes is announced on stdout as it arrives: {"event":"request","msg":{"method":…,"url":…}}.
//
// Environment: PEER_SERVICE, PEER_PORT, PEER_REDIS_URL. Stdout: {"event":"ready","instanceID":…};
// the process shuts hydra down and exits when stdin closes.
const crypto = require('crypto');
const readline = require('readline');
const hydraExpress = require('hydra-express');

const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
const express = hydraExpress.getExpress();

// The raw bytes of a body that body-parser parsed (JSON, urlencoded) are kept by its verify hook;
// any other body is read here.
const keepRaw = (req, _res, buf) => { req.rawBody = Buffer.from(buf); };

function raw(req) {
  if (req.rawBody) return Promise.resolve(req.rawBody);
  if (req._body) return Promise.resolve(Buffer.alloc(0)); // parsed, nothing sent
  return new Promise((resolve, reject) => {
    const parts = [];
    req.on('data', (d) => parts.push(d));
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

async function echo(req, res) {
  const body = await raw(req);
  res.json({
    result: {
      kind: 'node-express',
      method: req.method,
      url: req.originalUrl,
      ctype: req.headers['content-type'] || '',
      len: body.length,
      sha256: crypto.createHash('sha256').update(body).digest('hex'),
      tracer: req.headers['x-hydra-tracer'] || '',
      xff: req.headers['x-forwarded-for'] || '',
    },
  });
}

// blob is 5 MiB of bytes i % 251, as the Go service sends it.
const blob = Buffer.alloc(5 << 20);
for (let i = 0; i < blob.length; i++) blob[i] = i % 251;

const serviceName = process.env.PEER_SERVICE || 'hxpeer';

function routes() {
  const api = express.Router();
  // Router-level middleware: hydra-express registers no route for it, but it sees every request
  // under the base path, also one for a method no route takes.
  api.use((req, _res, next) => { emit({ event: 'request', msg: { method: req.method, url: req.originalUrl } }); next(); });
  for (const m of ['get', 'post', 'put', 'patch', 'delete']) {
    api[m]('/echo', (req, res) => { echo(req, res).catch((e) => res.status(500).json({ error: String(e) })); });
  }
  api.get('/blob', (_req, res) => { res.set('content-type', 'application/octet-stream'); res.send(blob); });
  api.get('/text', (_req, res) => { res.set('content-type', 'text/plain'); res.send('plain text, not JSON'); });
  hydraExpress.registerRoutes({ [`/v1/${serviceName}`]: api });
}

const config = {
  environment: 'test',
  bodyParser: { json: { verify: keepRaw }, urlencoded: { extended: false, verify: keepRaw } },
  hydra: {
    serviceName,
    serviceDescription: 'hydrakit router peer',
    serviceIP: '127.0.0.1',
    servicePort: Number(process.env.PEER_PORT),
    serviceType: 'test',
    redis: { url: process.env.PEER_REDIS_URL },
  },
};

hydraExpress.init(config, '1.0.0', routes)
  .then(() => {
    const hydra = hydraExpress.getHydra();
    emit({ event: 'ready', instanceID: hydra.getInstanceID(), serviceName: hydra.getServiceName() });
    const rl = readline.createInterface({ input: process.stdin });
    rl.on('close', () => { hydraExpress.shutdown().finally(() => process.exit(0)); });
  })
  .catch((e) => { emit({ event: 'fatal', error: String((e && e.stack) || e) }); process.exit(1); });
