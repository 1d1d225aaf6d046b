// Package router is hydrakit-router, a Go replacement for hydra-router 1.9.x: an http.Handler that
// routes HTTP requests to the live instances of Hydra services (Node and Go alike) by the routes
// they register, serves WebSocket clients (package router/wsgate), a live dashboard (package
// router/dashboard), /metrics, and hydra-router's /v1/router API with its paths and JSON shapes.
// It registers itself as an instance of service hydra-router, type router, so that Node services'
// route refreshes reach it and hydra-cli lists it.
//
// Matching: route patterns are Node's route-parser patterns (:param, *splat, (optional) groups)
// with hydra's [method] prefix. A [get] route takes GET and HEAD only; no prefix takes every
// method. Among the routes matching a request, the most specific wins: comparing the patterns
// segment by segment, at the first segment where they differ a literal beats a :param, which
// beats a *splat (a segment holding a group counts as a :param); a longer pattern beats its own
// prefix; then the longer pattern text, then service name. Only services with a live instance are
// chosen; then, as hydra-router, a Referer naming /<service> (the longest live name wins), then a
// first path segment naming a known service (stripped from the path); last, a matching route of a
// service with no live instance, which answers hydra-router's 503.
//
// Bounds: the route table holds at most MaxServices services of MaxRoutes routes (patterns of at
// most 1024 bytes); it is re-read from Redis every RouterRouteWatch (HGETALL of the nodes hash,
// then one pipeline of SRANDMEMBER reads) and on every hydra-router:/refresh broadcast, never on
// the request path, which reads only the in-memory table. /v1/router/log keeps 100 entries;
// /v1/router/stats keeps 3600 per-second counters for at most 256 services per table (about 14 KiB
// each); API bodies are at most MaxAPIBody bytes; request-triggered log lines are limited to 10 a
// second.
package router
