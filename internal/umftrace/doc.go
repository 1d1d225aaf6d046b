// Package umftrace carries OpenTelemetry trace context in the hdr of UMF messages and holds what the
// transport and the queue share to make their spans: the tracer and propagator of a client, and the
// messaging attributes every span has.
package umftrace
