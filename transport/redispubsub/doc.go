// Package redispubsub is a go-kit transport over Hydra's Redis pub/sub channels and UMF messages: a Conn
// per service instance receives on the service and instance channels, a Publisher turns a remote
// instance into an endpoint.Endpoint with request/reply by rmid, a Subscriber serves an endpoint, Send
// and Broadcast give Hydra's fire-and-forget messaging, and NewBalancer wires discovery, round robin,
// retries and a circuit breaker per instance in one call. Node Hydra 1.9.3 services see it as one of theirs.
package redispubsub
