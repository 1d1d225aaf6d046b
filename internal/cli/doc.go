// Package cli is the hydrakit command line tool (cmd/hydrakit): hydra-cli's commands with the same
// names and Redis effects, plus queue, request/reply, watch and janitor commands, on any Redis shape
// package redisurl reads. Env.Run runs one command line in-process, so tests drive it as a user would.
//
// Reads go by name through hydrakit's indexes: the nodes hash names every instance and service, and
// each service's and instance's keys are read by name, never by a whole-keyspace SCAN (services and
// routes take --scan to also find Node-only records that no nodes entry names any more).
//
// Bounds: one command holds at most one Redis client (its pool is go-redis's default), and, for call,
// message send and watch, one pub/sub Conn whose own bounds are redispubsub's; watch follows at most
// MaxWatched services. Every Redis wait has the command's --timeout, except watch, which runs until
// its context ends or --for passes.
package cli
