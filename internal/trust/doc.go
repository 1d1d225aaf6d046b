// Package trust signs and checks UMF messages with the fleet's shared secrets (hydrakit.WithSigning):
// Hydra's signMessage HMAC on the way out, and on the way in, when signatures are required, a valid
// signature under any accepted secret and, for pub/sub messages, a timestamp inside the replay window.
// Every component made from one hydrakit.Client uses the same Keys.
package trust
