// Package redistest gives tests a Redis: a real server for anything whose behaviour depends on real
// Redis (blocking commands, TTL expiry, Lua, pub/sub under reconnect), and miniredis for fast unit tests.
//
// A real Redis comes from, in order: REDIS_URL (a throwaway database: tests use unique names but never
// flush it); a redis-server binary on PATH, started on a free loopback port in a temporary directory and
// stopped when the test ends; a Docker daemon that answers. With none of them the test fails with a
// message saying how to get one. `make test` installs redis-server itself when it can.
package redistest
