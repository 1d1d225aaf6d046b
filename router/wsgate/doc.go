// Package wsgate is hydrakit-router's WebSocket gateway, wire-compatible with hydra-router 1.9.x
// clients: short-form UMF frames in and out, the connection message with a client ID, frames
// addressed svc:[method]/path made into HTTP calls (HTTPCaller), svc:/… and inst@svc:/… sent over
// pub/sub with via = <router iid>-<client ID>@hydra-router:/ so that replies from Node and Go
// services come back to the socket with the frame's mid as rmid, ping/pong, reconnect (and
// reconnection) with delivery of what was queued while the client was away, client-to-client fwd
// across routers through hydra-router's wsdir directory, and a broadcast to every client of every
// router at hydra-router:/broadcast. docs/router-websocket.md has the frames and addresses.
//
// Beyond hydra-router: browser origins are checked (same-origin by default, GatewayOrigins), frames
// to the router API and the broadcast address need the router token (GatewayRouterToken), frames
// can be required to be signed with the fleet's keys (GatewayRequireSignatures, or
// hydrakit.WithRequiredSignatures), and everything a client can make the gateway hold is bounded:
//
//   - sockets: GatewayMaxClients (default 10000), past it 503;
//   - an incoming frame: GatewayMaxFrameSize (default 64 KiB), past it close 1009;
//   - frames waiting for one socket: GatewaySendQueue (64 frames, 1 MiB), past it the client is
//     disconnected (1008) and what was meant for it is kept in its reconnect queue;
//   - calls waiting for an answer: GatewayMaxInFlight (32 per socket, 4096 in all), one goroutine
//     each; at the bound the socket is not read (back-pressure), and each waits at most
//     GatewayReplyTimeout (30 s);
//   - a reconnect queue in Redis: GatewayQueue (1000 messages, the oldest dropped; 24 h after the
//     last one), and only for a client the fleet knows (its queue or its :gone marker, kept as long,
//     exists): a fwd to an unknown ID is refused, not queued;
//   - the directory of other routers' clients: GatewayMaxDirectory (100000) entries, 1024 routers;
//   - log lines caused by input: one a second.
//
// The gateway handles the router Conn's routes DirectoryRoute ("/") and BroadcastRoute.
package wsgate
