// Package dashboard is hydrakit-router's live dashboard: one tile per instance, turning red as soon
// as its presence is lost, with routes, queue depths, WebSocket clients and per-service request and
// error rates, pushed to the browser as Server-Sent Events. Its assets are embedded in the binary.
//
// Where the data comes from: the nodes hash (one HGETALL per interval) names instances and services;
// an sd/redis Instancer per service keeps its live set and pushes each change at once, so a crashed
// instance turns red within its presence TTL plus the resync interval (3 s + 250 ms by default) plus
// the time to reach the browser; per interval, one pipeline reads the followed services' routes sets
// and their live instances' health keys, and queue.Inspector.Stats reads each service's queue.
// Nothing is SCANned.
//
// Bounds: at most DashboardMaxServices services are followed (default 64, the first by name) and
// MaxTiles tiles shown; a health key is read up to 64 KiB; at most DashboardMaxStreams event streams
// are open at once (default 32, more get 503), each with a buffer of 4 events: a browser further
// behind, or one that takes longer than the write timeout to take an event, is dropped and its
// EventSource reconnects. One goroutine builds every snapshot and one per followed service forwards
// its Instancer's changes.
package dashboard
