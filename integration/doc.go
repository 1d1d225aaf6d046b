// Package integration holds hydrakit's tests against real systems: a real redis-server and the real
// Node Hydra 1.9.3 from npm (integration/node), in both directions, plus chaos tests.
package integration
