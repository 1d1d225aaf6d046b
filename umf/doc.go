// Package umf encodes and decodes Universal Message Format (UMF 1.4.6) messages and addresses exactly
// as the Node.js library Hydra 1.9.3 does: messages are written in the short form, compact, in Hydra's
// key order, with bodies serialized byte for byte like JavaScript's JSON.stringify, so Node services
// can parse, re-serialize, sign and LREM what Go services write. It reads what Node serves where the
// meaning is clear (see Unmarshal). The package is pure: no I/O, no goroutines.
package umf
