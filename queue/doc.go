// Package queue is a reliable work queue on Node Hydra's queue lists (mqrecieved, mqinprogress,
// mqincomplete): a Producer that enqueues UMF messages a Node consumer can complete, a Consumer pool
// with leases, heartbeats, crash recovery, retries with backoff and a dead-letter list in Hydra's
// format, a go-kit Subscriber, and an Inspector. Every constructor takes a *hydrakit.Client, whose
// keyspace, logger, clock and signing keys it uses: producers sign, and consumers of a client that
// requires signatures dead-letter what is not signed. NewConsumer starts the pool and Close stops
// it. Delivery is at-least-once; see docs/queue.md.
package queue
