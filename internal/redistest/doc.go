// Package redistest gives tests a Redis: a real server for anything whose behaviour depends on real
// Redis (blocking commands, TTL expiry, Lua, pub/sub under reconnect), and miniredis for fast unit tests.
//
// A real Redis comes from, in order: REDIS_URL (a throwaway database: tests use unique names but never
// flush it); a redis-server binary on PATH, started on a free loopback port in a temporary directory and
// stopped when the test ends; a Docker daemon that answers. With none of them the test fails with a
// message saying how to get one. `make test` installs redis-server itself when it can.
//
// The shapes users run in production are started from the redis-server, redis-cli and redis-sentinel
// binaries (Debian's packages are enough; no Docker), on loopback only, each owned by one test:
//
//   - Start(tb, TLS()) and Start(tb, MutualTLS()): TLS only, with a private CA generated for the test
//     (Server.TLSFiles, Server.TLSConfig, a rediss:// Server.URL);
//   - Start(tb, ACLUser(name, password, rules...)): a user limited by ACL rules (Server.ClientAs,
//     Server.ACLLog);
//   - StartCluster: a 3-master Redis Cluster (Cluster.Client, Cluster.Seeds, Cluster.NodeForKey);
//   - StartSentinel: a primary, a replica and a sentinel (Sentinel.Client, Sentinel.Failover).
//
// The options combine and apply to every shape: a cluster or a sentinel set can use TLS and ACL users
// too. A missing binary fails the test, in CI and elsewhere; nothing is skipped.
package redistest
