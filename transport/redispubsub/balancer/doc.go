// Package balancer calls a service by name over redispubsub with go-kit's client stack: an sd/redis
// Instancer, sd.NewEndpointer, lb.NewRoundRobin and lb.RetryWithCallback, and a gobreaker per
// instance (circuitbreaker.Gobreaker). Each part is the stock go-kit one, so a different arrangement
// can be built by hand from the same pieces.
package balancer
