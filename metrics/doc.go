// Package metrics is the set of go-kit metrics (github.com/go-kit/kit/metrics) every hydrakit
// component reports to: one Set per client (hydrakit.WithMetrics), grouped per component. Any go-kit
// backend can fill a Set; package metrics/prom builds one on a Prometheus registry, and Discard (the
// default) drops everything. docs/observability.md lists every metric, its type, labels and meaning.
//
// Label values are only ever names the application configures (its own service, the services it
// calls or follows, its queues and health checks), never an instance ID or a name a message carries,
// so the number of series is bounded by the application's configuration.
package metrics
