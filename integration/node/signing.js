'use strict';
// A real Node Hydra 1.9.3 service that signs what it sends with UMF's signMessage('sha256', secret)
// and checks the signature of what it receives, the way a Node fleet would do it by hand, for
// hydrakit's signing interop test (integration/signing_node_test.go). It speaks peer.js's line
// protocol: {"id":1,"op":"...","args":{...}} in, {"id":1,"result":...} or {"id":1,"error":"..."} out,
// and events {"event":"ready","instanceID":"..."} and {"event":"request"|"reply","msg":{"msg":<the
// message received>,"verified":<its signature is valid>}}.
//
// Config from the environment: PEER_SERVICE, PEER_REDIS_URL, SIGNING_SECRET.
//
// Incoming requests (no rmid) are verified and answered with a reply built as sendReplyMessage
// builds it (to = frm, frm = to, rmid = mid), then signed. sendReplyMessage itself cannot sign: it
// merges the response into the request after any signature was made.
const readline = require('readline');
const hydra = require('hydra');

const secret = process.env.SIGNING_SECRET || '';
const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
const self = () => `${hydra.getInstanceID()}@${hydra.getServiceName()}:/`;

// verified recomputes signMessage on a copy of msg (a short-form message as hydra emits it) and
// compares it with the signature msg carries.
function verified(msg) {
  if (!msg.sig) return false;
  const copy = hydra.createUMFMessage(msg);
  copy.signMessage('sha256', secret);
  return copy.signature === msg.sig;
}

// signed returns a UMF message made from fields and signed with key ('' leaves it unsigned).
function signed(fields, key) {
  const msg = hydra.createUMFMessage(fields);
  if (key) msg.signMessage('sha256', key);
  return msg;
}

hydra.on('message', (msg) => {
  if (msg.rmid) {
    emit({ event: 'reply', msg: { msg, verified: verified(msg) } });
    return;
  }
  const ok = verified(msg);
  emit({ event: 'request', msg: { msg, verified: ok } });
  if (!msg.frm) return;
  const reply = signed({ to: msg.via || msg.frm, frm: msg.to, rmid: msg.mid, bdy: { verified: ok, echo: msg.bdy } }, secret);
  hydra.sendMessage(reply);
});

const ops = {
  // send sends {to, bdy} from this instance, signed with the secret, with another secret
  // (sign: "wrong"), or unsigned (sign: "none"), and returns the message sent.
  send: async ({ to, bdy, sign }) => {
    const key = sign === 'none' ? '' : sign === 'wrong' ? secret + '-wrong' : secret;
    const msg = signed({ to, frm: self(), bdy }, key);
    const failure = await hydra.sendMessage(msg);
    if (failure) throw new Error(`sendMessage: ${JSON.stringify(failure)}`);
    return msg.toShort();
  },
};

async function main() {
  await hydra.init({
    hydra: {
      serviceName: process.env.PEER_SERVICE || 'node-signing',
      serviceDescription: 'hydrakit signing interop peer',
      serviceIP: '127.0.0.1',
      servicePort: 0,
      serviceType: 'test',
      redis: { url: process.env.PEER_REDIS_URL || 'redis://127.0.0.1:6379/0' },
    },
  });
  await hydra.registerService();
  emit({ event: 'ready', instanceID: hydra.getInstanceID() });
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', async (line) => {
    let req;
    try {
      req = JSON.parse(line);
      const op = ops[req.op];
      if (!op) throw new Error(`no op ${req.op}`);
      emit({ id: req.id, result: await op(req.args || {}) });
    } catch (e) {
      emit({ id: req && req.id, error: String((e && e.message) || e) });
    }
  });
  rl.on('close', () => { hydra.shutdown().finally(() => process.exit(0)); });
}

main().catch((e) => { emit({ event: 'fatal', error: String((e && e.stack) || e) }); process.exit(1); });
