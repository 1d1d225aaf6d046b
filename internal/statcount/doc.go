// Package statcount holds the counters behind a component's Stats that also report to a go-kit
// metric of the client's metrics.Set, so that Stats and Prometheus count the same events.
package statcount
