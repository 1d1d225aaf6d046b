// Package envelope writes hydra's ServerResponse envelope, the JSON shape hydra-router answers with:
// {statusCode, statusMessage, statusDescription, result} in that order, then any extra keys, with
// hydra's own status texts. Clients of hydra-router parse these bodies, so the key order and the
// texts are part of the contract (spec/hydra-router.md, "The envelope").
package envelope
