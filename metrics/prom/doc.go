// Package prom builds a metrics.Set on a Prometheus registry (github.com/prometheus/client_golang),
// so that package metrics itself does not import Prometheus. Its metrics are go-kit metrics like
// those of go-kit's metrics/prometheus, but resolve their labels once, in With, instead of on every
// update (bound.go): an update of a bound metric costs an atomic add and no allocation.
package prom
