// Package prom builds a metrics.Set on a Prometheus registry, with go-kit's metrics/prometheus
// (github.com/prometheus/client_golang), so that package metrics itself does not import Prometheus.
package prom
