// Package embedded runs an in-process Redis (miniredis) whose keys expire in real time, for `make demo`
// and examples run without a Redis server. miniredis only ages TTLs when told to, so a clock goroutine
// owned by the Server advances it.
package embedded
