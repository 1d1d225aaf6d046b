// Package dashboard is hydrakit-router's live dashboard: one tile per instance, turning red as soon
// as its presence is lost, with routes, queue depths, WebSocket clients and per-service request and
// error rates, pushed to the browser. Its assets are embedded in the binary.
package dashboard
