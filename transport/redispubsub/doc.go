// Package redispubsub is a go-kit transport over Hydra's Redis pub/sub channels and UMF messages: a
// Conn per service instance receives on the service and instance channels, a Publisher turns a remote
// endpoint into an endpoint.Endpoint with request/reply by rmid, a Subscriber serves an endpoint, and
// Send and Broadcast give Hydra's fire-and-forget messaging. Node Hydra 1.9.3 services see it as one
// of theirs. With the client's signing keys every message is signed as Node's signMessage does and,
// when required, checked on receipt; a reply completes a request only when it comes from the instance
// asked. Everything a message can make a Conn keep (lookups, goroutines, connections, error replies,
// log lines) is bounded (docs/transport.md, "Bounds"). Package balancer calls a service by name with
// go-kit's round robin, retries and a circuit breaker per instance.
package redispubsub
