// Package proxy is hydrakit-router's HTTP forwarding: it sends a routed request to one live instance
// of a service, found through sd/redis and balanced with go-kit's lb round robin, with a circuit
// breaker per instance, retries that never send a request twice unless it is idempotent, bodies of
// every kind streamed through untouched, and answers shaped as hydra-router 1.9.x writes them
// (x-hydra-tracer, CORS, hydra's envelope merged into JSON replies, its 503 bodies).
//
// # Bounds
//
// Everything a client or a service controls is bounded:
//   - services followed at once: ProxyMaxServices (DefaultMaxServices); past it the least recently
//     used one is dropped (its Instancer stopped, its metric series deleted);
//   - a request body buffered so that an idempotent request can be retried: ProxyRetryBuffer
//     (DefaultRetryBuffer); a longer body is streamed and the request is retried only while none of
//     it was sent;
//   - a JSON answer read to merge it into hydra's envelope: ProxyMaxEnvelope (DefaultMaxEnvelope); a
//     longer one is streamed through raw;
//   - an answer CallHTTP reads for a WebSocket frame: ProxyMaxEnvelope as well;
//   - attempts per request: ProxyAttempts (DefaultAttempts) sends, plus skips of instances whose
//     breaker is open, at most twice the instances listed;
//   - connections: one shared http.Transport, at most ProxyMaxConnsPerInstance per instance;
//   - time: ProxyTimeout (DefaultTimeout) without progress, until the answer's headers and between
//     reads of its body;
//   - goroutines: none per request beyond net/http's own; one per followed service.
//
// Log lines a request can trigger are rate limited.
package proxy
