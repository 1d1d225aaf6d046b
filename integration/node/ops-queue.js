'use strict';
// Queue ops for hydrakit's queue interop tests: a Node consumer exactly as Node Hydra apps write it.
module.exports = (hydra, emit, ops) => {
  // queueTakeAndMark takes one message of this service's queue and marks it, all inside Node, so the
  // object Node parsed is the one it stringifies back for LREM (no trip through Go).
  ops.queueTakeAndMark = async ({ completed, reason }) => {
    const msg = await hydra.getQueuedMessage(hydra.getServiceName());
    if (!msg) return null;
    await hydra.markQueueMessage(msg, completed, reason);
    return msg;
  };
};
