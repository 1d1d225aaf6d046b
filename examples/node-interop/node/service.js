'use strict';
// The Node Hydra half of hydrakit's examples/node-interop: a plain Hydra 1.9.3 service, written as any
// Node Hydra app would be, that talks to the Go service both ways.
//
//   npm ci && HYDRA_REDIS_URL=redis://127.0.0.1:6379/0 node service.js
//
// It registers as NODE_SERVICE (default node-interop), then:
// - answers every request message with sendReplyMessage: {"greeting": "hello, <bdy.name>", "by": "node"};
// - calls GO_SERVICE (default go-interop) route /uppercase with sendMessage until it gets a reply;
// - takes jobs from its Hydra queue, reports each one to GO_SERVICE route /job-done, and marks it
//   completed (or, when the report fails, incomplete) with markQueueMessage.
// Every step is printed as one line on stdout, starting with "node:". SIGINT or SIGTERM shuts it down.
const hydra = require('hydra');

const redisURL = process.env.HYDRA_REDIS_URL || 'redis://127.0.0.1:6379/0';
const serviceName = process.env.NODE_SERVICE || 'node-interop';
const goService = process.env.GO_SERVICE || 'go-interop';

const say = (line) => process.stdout.write(`node: ${line}\n`);
const pending = new Map(); // mid of a request we sent -> what to do with its reply
let stopping = false;
let pollTimer;
let retryTimer;

// request sends bdy to route of the Go service and resolves with the reply's bdy. sendMessage
// resolves with an error response (never rejects) when the service has no live instance.
function request(route, bdy, timeoutMs) {
  const msg = hydra.createUMFMessage({
    to: `${goService}:${route}`,
    frm: `${hydra.getInstanceID()}@${serviceName}:/`,
    bdy,
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { pending.delete(msg.mid); reject(new Error(`no reply to ${route} within ${timeoutMs} ms`)); }, timeoutMs);
    pending.set(msg.mid, (reply) => { clearTimeout(timer); resolve(reply.bdy); });
    hydra.sendMessage(msg).then((failed) => {
      if (failed) {
        clearTimeout(timer);
        pending.delete(msg.mid);
        reject(new Error((failed.result && failed.result.reason) || failed.statusDescription || 'send failed'));
      }
    });
  });
}

hydra.on('message', (msg) => {
  const rmid = msg.rmid; // Node reads only rmid
  if (rmid && pending.has(rmid)) {
    const done = pending.get(rmid);
    pending.delete(rmid);
    done(msg);
    return;
  }
  say(`request ${msg.to} from ${msg.frm}: ${JSON.stringify(msg.bdy)}`);
  const name = (msg.bdy && msg.bdy.name) || 'stranger';
  hydra.sendReplyMessage(msg, hydra.createUMFMessage({ bdy: { greeting: `hello, ${name}`, by: 'node' } }));
});

// callGo retries until the Go service is up and has answered once.
async function callGo() {
  while (!stopping) {
    try {
      const bdy = await request('/uppercase', { s: 'hello from node' }, 2000);
      say(`reply from ${goService} /uppercase: ${JSON.stringify(bdy)}`);
      return;
    } catch (e) {
      say(`calling ${goService}: ${e.message}; retrying`);
      await new Promise((r) => { retryTimer = setTimeout(r, 500); });
    }
  }
}

// work takes every queued job, tells the Go service it is done, and marks it in the queue.
async function work() {
  for (let msg = await hydra.getQueuedMessage(serviceName); msg && !stopping; msg = await hydra.getQueuedMessage(serviceName)) {
    say(`job ${msg.mid} from queue: ${JSON.stringify(msg.bdy)}`);
    try {
      const ack = await request('/job-done', { mid: msg.mid, result: `resized ${msg.bdy && msg.bdy.image}` }, 5000);
      await hydra.markQueueMessage(msg, true);
      say(`job ${msg.mid} completed, ${goService} says ${JSON.stringify(ack)}`);
    } catch (e) {
      await hydra.markQueueMessage(msg, false, e.message);
      say(`job ${msg.mid} incomplete: ${e.message}`);
    }
  }
}

async function pollQueue() {
  try {
    await work();
  } catch (e) {
    say(`queue: ${e.message}`);
  }
  if (!stopping) pollTimer = setTimeout(pollQueue, 200);
}

async function main() {
  await hydra.init({
    hydra: {
      serviceName,
      serviceDescription: 'Node half of hydrakit examples/node-interop',
      serviceIP: '127.0.0.1',
      servicePort: 0,
      serviceType: 'example',
      redis: { url: redisURL },
    },
  });
  await hydra.registerService();
  say(`ready ${hydra.getInstanceID()}`);
  pollQueue();
  await callGo();
}

function shutdown() {
  stopping = true;
  clearTimeout(pollTimer);
  clearTimeout(retryTimer);
  hydra.shutdown().finally(() => process.exit(0));
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);

main().catch((e) => { say(`fatal: ${(e && e.stack) || e}`); process.exit(1); });
