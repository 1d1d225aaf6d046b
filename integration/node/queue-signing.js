'use strict';
// One queue operation with the real Node Hydra 1.9.3, for hydrakit's queue signing tests. Run as
//   node queue-signing.js '<json request>'
// with request {redisURL, service, op, ...}; it prints one JSON line {"result":...} or {"error":...}.
//   produce    {messages:[{to,frm,mid,bdy}], secret?}: createUMFMessage, signMessage('sha256', secret)
//              when a secret is given, queueMessage
//   consume    {count, secret}: getQueuedMessage of service, then markQueueMessage(msg, true); answers
//              [{mid, sig, valid}] where valid says whether Node's own signMessage of the message gives
//              the signature it carries
//   deadLetter {reason}: getQueuedMessage of service, then markQueueMessage(msg, false, reason)
const hydra = require('hydra');

const ops = {
  produce: async ({ messages, secret }) => {
    for (const m of messages) {
      const msg = hydra.createUMFMessage(m);
      if (secret) msg.signMessage('sha256', secret);
      await hydra.queueMessage(msg);
    }
    return messages.length;
  },
  consume: async ({ service, count, secret }) => {
    const out = [];
    for (let i = 0; i < count; i++) {
      const msg = await hydra.getQueuedMessage(service);
      if (!msg) break;
      const check = hydra.createUMFMessage(msg);
      check.signMessage('sha256', secret);
      out.push({ mid: msg.mid, sig: msg.sig || '', valid: check.signature === msg.sig });
      await hydra.markQueueMessage(msg, true);
    }
    return out;
  },
  deadLetter: async ({ service, reason }) => {
    const msg = await hydra.getQueuedMessage(service);
    if (!msg) return null;
    await hydra.markQueueMessage(msg, false, reason);
    return msg.mid;
  },
};

async function main() {
  const req = JSON.parse(process.argv[2]);
  await hydra.init({
    hydra: { serviceName: req.service, serviceIP: '127.0.0.1', servicePort: 0, redis: { url: req.redisURL } },
  });
  try {
    const op = ops[req.op];
    if (!op) throw new Error(`no op ${req.op}`);
    process.stdout.write(JSON.stringify({ result: await op(req) }) + '\n');
  } finally {
    await hydra.shutdown();
  }
}

main().then(() => process.exit(0), (e) => {
  process.stdout.write(JSON.stringify({ error: String((e && e.stack) || e) }) + '\n');
  process.exit(1);
});
