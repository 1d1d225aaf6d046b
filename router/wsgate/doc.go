// Package wsgate is hydrakit-router's WebSocket gateway, wire-compatible with hydra-router 1.9.x
// clients: short-form UMF frames in and out, HTTP routes and pub/sub services behind them, replies
// routed back to the socket through the UMF via field, ping/pong, reconnect with queued delivery and
// client-to-client forwarding across routers.
package wsgate
