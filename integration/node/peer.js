'use strict';
// A real Node Hydra 1.9.3 service driven by hydrakit's Go interop tests, one JSON object per line.
//
// Config comes from the environment: PEER_SERVICE (service name), PEER_PORT (servicePort, default 0),
// PEER_REDIS_URL (redis://127.0.0.1:port/db), PEER_REGISTER ("0" to skip registerService).
// Requests on stdin:   {"id":1,"op":"call","method":"getServicePresence","args":["svc"]}
// Answers on stdout:   {"id":1,"result":...} or {"id":1,"error":"..."}
// Events on stdout:    {"event":"ready","instanceID":"..."}, {"event":"message","msg":{...}}
// Every ops-*.js file beside this one adds ops: module.exports = (hydra, emit, ops, state) => {...}.
const fs = require('fs');
const path = require('path');
const readline = require('readline');
const hydra = require('hydra');

const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
const state = { replyMode: 'none' }; // replyMode: none | echo
const ops = {
  // call invokes any public hydra method; a returned promise is awaited.
  call: async ({ method, args }) => {
    if (typeof hydra[method] !== 'function') {
      throw new Error(`no hydra method ${method}`);
    }
    return await hydra[method](...(args || []));
  },
  replyMode: async ({ mode }) => { state.replyMode = mode; return mode; },
  shutdown: async () => { await hydra.shutdown(); setTimeout(() => process.exit(0), 50); return true; },
};

for (const f of fs.readdirSync(__dirname).filter((f) => /^ops-.*\.js$/.test(f)).sort()) {
  require(path.join(__dirname, f))(hydra, emit, ops, state);
}

hydra.on('message', (msg) => {
  emit({ event: 'message', msg });
  if (state.replyMode === 'echo' && msg.frm) {
    hydra.sendReplyMessage(msg, hydra.createUMFMessage({ bdy: { echo: msg.bdy } }));
  }
});
hydra.on('log', (entry) => emit({ event: 'log', entry }));

async function main() {
  const config = {
    hydra: {
      serviceName: process.env.PEER_SERVICE || 'node-peer',
      serviceDescription: 'hydrakit interop peer',
      serviceIP: '127.0.0.1',
      servicePort: Number(process.env.PEER_PORT || 0),
      serviceType: 'test',
      redis: { url: process.env.PEER_REDIS_URL || 'redis://127.0.0.1:6379/0' },
    },
  };
  await hydra.init(config);
  if (process.env.PEER_REGISTER !== '0') {
    await hydra.registerService();
  }
  emit({ event: 'ready', instanceID: hydra.getInstanceID(), serviceName: hydra.getServiceName() });

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
      const op = ops[req.op];
      if (!op) throw new Error(`no op ${req.op}`);
      const result = await op(req.args || {});
      emit({ id: req.id, result: result === undefined ? null : result });
    } catch (e) {
      emit({ id: req.id, error: String((e && e.message) || e) });
    }
  });
  rl.on('close', () => { hydra.shutdown().finally(() => process.exit(0)); });
}

main().catch((e) => { emit({ event: 'fatal', error: String((e && e.stack) || e) }); process.exit(1); });
