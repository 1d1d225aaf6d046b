'use strict';
// Ops for hydrakit's transport interop tests: a Node requester and broadcaster written the way Node
// Hydra apps do it (sendMessage, then the reply arrives as a 'message' event with rmid = our mid).
module.exports = (hydra, emit, ops) => {
  const self = () => `${hydra.getInstanceID()}@${hydra.getServiceName()}:/`;

  // request sends {to, bdy} with sendMessage and resolves with the message sent and its reply.
  ops.request = ({ to, bdy, timeoutMs }) => new Promise((resolve, reject) => {
    const msg = hydra.createUMFMessage({ to, frm: self(), bdy });
    const done = () => { clearTimeout(timer); hydra.removeListener('message', onMessage); };
    const onMessage = (m) => {
      if (m.rmid === msg.mid) {
        done();
        resolve({ sent: msg.toShort(), reply: m });
      }
    };
    const timer = setTimeout(() => { done(); reject(new Error(`no reply to ${msg.mid}`)); }, timeoutMs || 5000);
    hydra.on('message', onMessage);
    hydra.sendMessage(msg).then((failure) => {
      if (failure) { done(); reject(new Error(`sendMessage: ${JSON.stringify(failure)}`)); }
    });
  });

  // broadcast sends {to, bdy} with sendBroadcastMessage; a Hydra failure object is returned as is.
  ops.broadcast = async ({ to, bdy }) => {
    const failure = await hydra.sendBroadcastMessage(hydra.createUMFMessage({ to, frm: self(), bdy }));
    return failure || null;
  };
};
