'use strict';
// A real Node Hydra 1.9.3 service for integration/fidelity_test.go, driven by one JSON object per line.
//
// Start it as `node -e "require('<absolute path>/fidelity.js')"`: with no script in process.argv,
// hydra finds no package.json beside it and registers version "unspecified", what Node writes for a
// service that sets no version (this directory's package.json has none, which would drop the field).
// Config comes from the environment: FID_SERVICE (service name), FID_REDIS_URL
// (redis://127.0.0.1:port/db), FID_IP (serviceIP; unset leaves it '' and hydra picks the host's),
// FID_PORT (servicePort, default 0: a random free one, which hydra finds by listening on serviceIP,
// so a pattern such as "127.*" needs a fixed port).
// Requests on stdin:  {"id":1,"op":"call","args":{"method":"getAllServiceRoutes","args":[]}}
//                     {"id":2,"op":"send","args":{"msg":{...},"secret":"k"}}  sendMessage, signed if secret
//                     {"id":3,"op":"wire","args":{"text":"{...}","secret":"k"}}  what Node publishes for
//                     JSON.parse(text) (createMessage → toShort → JSON.stringify) and its signature
// Answers on stdout:  {"id":1,"result":...} or {"id":1,"error":"..."}
// Events on stdout:   {"event":"ready","instanceID":"..."}, {"event":"message","msg":{...}}
const readline = require('readline');
const hydra = require('hydra');
const UMF = require('hydra/lib/umfmessage');

const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

const ops = {
  call: async ({ method, args }) => {
    if (typeof hydra[method] !== 'function') {
      throw new Error(`no hydra method ${method}`);
    }
    return await hydra[method](...(args || []));
  },
  send: async ({ msg, secret }) => {
    let out = msg;
    if (secret) {
      const m = UMF.createMessage(msg);
      m.signMessage('sha256', secret);
      out = m.toShort();
    }
    return await hydra.sendMessage(out);
  },
  wire: async ({ text, secret }) => {
    const m = UMF.createMessage(JSON.parse(text));
    const wire = JSON.stringify(m.toShort());
    m.signMessage('sha256', secret || 'secret');
    return { wire, sig: m.signature };
  },
};

hydra.on('message', (msg) => emit({ event: 'message', msg }));

async function main() {
  const config = {
    hydra: {
      serviceName: process.env.FID_SERVICE || 'fidelity',
      serviceIP: process.env.FID_IP || '',
      servicePort: Number(process.env.FID_PORT || 0),
      redis: { url: process.env.FID_REDIS_URL || 'redis://127.0.0.1:6379/0' },
    },
  };
  await hydra.init(config);
  await hydra.registerService();
  emit({ event: 'ready', instanceID: hydra.getInstanceID() });

  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', async (line) => {
    let req;
    try {
      req = JSON.parse(line);
      const op = ops[req.op];
      if (!op) throw new Error(`no op ${req.op}`);
      const result = await op(req.args || {});
      emit({ id: req.id, result: result === undefined ? null : result });
    } catch (e) {
      emit({ id: req && req.id, error: String((e && e.message) || e) });
    }
  });
  rl.on('close', () => { hydra.shutdown().finally(() => process.exit(0)); });
}

main().catch((e) => { emit({ event: 'fatal', error: String((e && e.stack) || e) }); process.exit(1); });
