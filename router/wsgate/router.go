package wsgate

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/coder/websocket"

	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/transport/redispubsub"
	"github.com/hydrakit/hydrakit/umf"
)

// rmidHeader carries a forwarded message's rmid between routers: a hydrakit Conn takes every
// message with rmid for a reply to one of its own requests, so a client's reply to another client
// would never reach the router holding it.
const rmidHeader = "x-hydrakit-rmid"

// maxRouters bounds the routers the directory remembers.
const maxRouters = 1024

// directory is hydra-router's wsdir: which clients the other routers hold, kept up to date by
// their wsdir.* broadcasts. Guarded by the gateway's mutex.
type directory struct {
	routers map[string]map[string]struct{}
	size    int
	max     int
}

// add returns false when the bound is reached.
func (d *directory) add(router, id string) bool {
	ids := d.routers[router]
	if ids == nil {
		if len(d.routers) >= maxRouters {
			return false
		}
		ids = map[string]struct{}{}
		d.routers[router] = ids
	}
	if _, ok := ids[id]; ok {
		return true
	}
	if d.size >= d.max {
		return false
	}
	ids[id] = struct{}{}
	d.size++
	return true
}

func (d *directory) del(router, id string) {
	if ids := d.routers[router]; ids != nil {
		if _, ok := ids[id]; ok {
			delete(ids, id)
			d.size--
		}
	}
}

func (d *directory) rem(router string) {
	d.size -= len(d.routers[router])
	delete(d.routers, router)
}

func (d *directory) find(id string) string {
	for r, ids := range d.routers {
		if _, ok := ids[id]; ok {
			return r
		}
	}
	return ""
}

// locate answers wsdir.loc: the router holding client id, "" when unknown.
func (g *Gateway) locate(id string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.clients[id] != nil {
		return g.iid
	}
	return g.dir.find(id)
}

// handleRouterMessage handles what comes to hydra-router:/ on the router's Conn, as hydra-router
// does: the wsdir directory of the other routers, then messages for a client named by via, by the
// to's sub-ID (<iid>-<clientID>@hydra-router:/) or by fwd: to its socket when it is here, else to its
// reconnect queue if it is a client the fleet knows.
func (g *Gateway) handleRouterMessage(_ context.Context, _ *redispubsub.Conn, msg *umf.Message) {
	g.mu.Lock()
	closed := g.closed
	g.mu.Unlock()
	if closed {
		return
	}
	var b struct {
		RouterID  string          `json:"routerID"`
		ClientID  string          `json:"clientID"`
		Directory json.RawMessage `json:"directory"`
	}
	_ = json.Unmarshal(msg.Body, &b)
	if b.RouterID != "" {
		if b.RouterID != g.iid {
			g.directoryMessage(msg.Type, b.RouterID, b.ClientID, b.Directory)
		}
		return
	}
	out := *msg
	out.Signature = ""
	if rmid, ok := msg.Header(rmidHeader); ok && out.RMID == "" {
		out.RMID = rmid
	}
	if msg.Via != "" {
		if a, err := umf.ParseAddress(msg.Via); err == nil && a.SubID != "" {
			out.Via = ""
			g.deliver(a.SubID, &out, true, true)
		}
		return
	}
	if a, err := umf.ParseAddress(msg.To); err == nil && a.SubID != "" && a.Instance == g.iid {
		g.deliver(a.SubID, &out, true, true)
		return
	}
	if msg.Forward != "" {
		if a, err := umf.ParseAddress(msg.Forward); err == nil && a.Instance != "" {
			out.To = msg.Forward
			out.Via = g.self
			g.deliver(a.Instance, &out, true, true)
		}
		return
	}
	g.stats.unroutable.Add(1)
	g.logger.Log("msg", "dropped a message for hydra-router:/ naming no client", "mid", msg.MID, "typ", msg.Type)
}

// directoryMessage applies another router's wsdir message.
func (g *Gateway) directoryMessage(typ, router, id string, dir json.RawMessage) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch typ {
	case "wsdir.add":
		if id != "" && !g.dir.add(router, id) {
			g.stats.directoryFull.Add(1)
		}
	case "wsdir.del":
		g.dir.del(router, id)
	case "wsdir.rem":
		g.dir.rem(router)
	case "wsdir.sha":
		if g.closed {
			return
		}
		mine := make(map[string]int, len(g.clients))
		for cid := range g.clients {
			mine[cid] = 1
		}
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			g.announce("wsdir.dir", map[string]any{"routerID": g.iid, "directory": mine})
		}()
	case "wsdir.dir":
		var ids map[string]json.RawMessage
		if json.Unmarshal(dir, &ids) != nil {
			return
		}
		g.dir.rem(router)
		for cid := range ids {
			if !g.dir.add(router, cid) {
				g.stats.directoryFull.Add(1)
				break
			}
		}
	}
}

// handleBroadcast sends a message to hydra-router:/broadcast to every client of this router.
func (g *Gateway) handleBroadcast(_ context.Context, _ *redispubsub.Conn, msg *umf.Message) {
	out := *msg
	out.Signature = ""
	data, err := out.Marshal()
	if err != nil {
		return
	}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return
	}
	clients := make([]*client, 0, len(g.clients))
	for _, c := range g.clients {
		clients = append(clients, c)
	}
	g.mu.Unlock()
	for _, c := range clients {
		c.send(frame{data: data})
	}
	g.stats.broadcasts.Add(1)
}

// deliver hands msg to client id: to its socket if it is here, else (keep) to its reconnect queue,
// only if the fleet knows the client when requireKnown.
func (g *Gateway) deliver(id string, msg *umf.Message, keep, requireKnown bool) bool {
	data, err := msg.Marshal()
	if err != nil {
		g.logger.Log("msg", "encode a frame", "mid", msg.MID, "err", err)
		return false
	}
	g.mu.Lock()
	c := g.clients[id]
	g.mu.Unlock()
	if c != nil && c.send(frame{id: id, data: data, keep: keep}) {
		return true
	}
	if !keep {
		return false
	}
	return g.enqueueRaw(id, data, requireKnown)
}

// forward delivers a client's fwd message to the client it names: here, through the router
// holding it (the directory), else to its reconnect queue if the fleet knows it.
func (g *Gateway) forward(c *client, msg *umf.Message) {
	fa, err := umf.ParseAddress(msg.Forward)
	if err != nil || fa.Instance == "" {
		c.sendMessage(g.answer(c, msg, true, reasonBody("HR: fwd must name a client: <clientID>@client:/")), false)
		return
	}
	target := fa.Instance
	local := *msg
	local.To, local.Via, local.Signature = msg.Forward, g.self, ""
	g.mu.Lock()
	here := g.clients[target] != nil
	router := ""
	if !here {
		router = g.dir.find(target)
	}
	g.mu.Unlock()
	if here && g.deliver(target, &local, true, false) {
		return
	}
	if router != "" {
		remote := *msg
		remote.To, remote.Signature = router+"@"+keyspace.RouterService+":/", ""
		if remote.RMID != "" {
			_ = remote.SetHeader(rmidHeader, remote.RMID)
			remote.RMID = ""
		}
		ctx, cancel := context.WithTimeout(c.ctx, g.cfg.writeTimeout)
		err := g.conn.Send(ctx, &remote)
		cancel()
		if err == nil {
			g.stats.forwarded.Add(1)
			return
		}
		if errors.Is(err, redispubsub.ErrNoResponders) {
			g.mu.Lock()
			g.dir.rem(router) // gone without wsdir.rem (killed)
			g.mu.Unlock()
		}
	}
	if !g.deliver(target, &local, true, true) {
		c.sendMessage(g.answer(c, msg, true, reasonBody("HR: unknown client "+target)), false)
	}
}

// reconnect re-keys c to the ID it had before (hydra-router's reconnect, and the reconnection its
// docs name), greets it anew and delivers what was queued for it meanwhile, oldest first.
func (g *Gateway) reconnect(c *client, msg *umf.Message) bool {
	var b struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(msg.Body, &b)
	if b.ID == "" {
		return g.invalid(c, "reconnect message missing reconnect id")
	}
	if !validID(b.ID) {
		return g.invalid(c, "reconnect message has an invalid id")
	}
	g.mu.Lock()
	old := c.id
	prev := g.clients[b.ID]
	if prev == c {
		prev = nil
	}
	delete(g.clients, old)
	g.clients[b.ID] = c
	c.id = b.ID
	g.mu.Unlock()
	if prev != nil {
		// The same client on a socket that has not noticed it is dead yet: the newer one wins.
		prev.kick(websocket.StatusPolicyViolation, "replaced by a reconnect")
	}
	if old != b.ID {
		g.announce("wsdir.del", map[string]any{"routerID": g.iid, "clientID": old})
		g.announce("wsdir.add", map[string]any{"routerID": g.iid, "clientID": b.ID})
	}
	g.stats.reconnects.Add(1)
	c.greet()
	g.goroutine(func() { g.drain(c, b.ID) })
	return true
}

// validID accepts the client IDs hydra's shortID makes (base 36) and other plain tokens, which are
// safe in Redis keys and UMF addresses.
func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	return strings.IndexFunc(id, func(r rune) bool {
		return !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_')
	}) < 0
}
