package wsgate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/coder/websocket"

	"github.com/hydrakit/hydrakit/internal/trust"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/transport/redispubsub"
	"github.com/hydrakit/hydrakit/umf"
)

// maxEchoed bounds how much of an invalid frame its error message repeats.
const maxEchoed = 1024

// message returns a new message from the gateway with mid, ts and ver set.
func (g *Gateway) message(to, from, typ string) *umf.Message {
	return &umf.Message{To: to, From: from, MID: umf.NewMID(), Timestamp: umf.FormatTime(g.now()), Type: typ, Version: umf.Version}
}

// handleFrame routes one frame from c; false means the socket is to be closed (its error frame is
// queued as the last one).
func (g *Gateway) handleFrame(c *client, data []byte) bool {
	msg, err := umf.Unmarshal(data)
	if err != nil {
		return g.invalid(c, "HR: Invalid UMF message: "+bufferJSON(data)+" closing connection")
	}
	if msg.To == "" || msg.From == "" || len(msg.Body) == 0 {
		return g.invalid(c, "HR: Invalid UMF message: "+echo(data)+" closing connection")
	}
	if g.verify {
		if msg.Signature == "" {
			g.stats.unsigned.Add(1)
			return g.invalid(c, "Not a signed UMF message")
		}
		if err := g.signing.Check(msg, g.now(), trust.ReplayWindow); err != nil {
			g.stats.unsigned.Add(1)
			return g.invalid(c, "Invalid signed UMF message")
		}
	}
	to, err := umf.ParseAddress(msg.To)
	if err != nil {
		return g.invalid(c, "HR: Invalid UMF message: "+echo(data)+" closing connection")
	}
	isRouter := strings.EqualFold(to.Service, keyspace.RouterService)
	switch {
	case to.Method != "":
		if isRouter && !c.authorized {
			g.stats.tokenRefused.Add(1)
			c.sendMessage(g.answer(c, msg, true, reasonBody("HR: router token required")), false)
			return true
		}
		return g.call(c, func(id string) { g.callHTTP(c, id, msg, to, isRouter) })
	case isRouter:
		return g.routerFrame(c, msg, to)
	default:
		return g.call(c, func(id string) { g.relay(c, id, msg, to) })
	}
}

// invalid queues hydra-router's error frame as c's last one.
func (g *Gateway) invalid(c *client, text string) bool {
	g.stats.invalid.Add(1)
	msg := g.message("client:/", g.self, "")
	_ = msg.SetBody(map[string]string{"error": text})
	data, _ := msg.Marshal()
	if !c.send(frame{data: data, status: websocket.StatusPolicyViolation, reason: "invalid UMF message"}) {
		c.cancel()
	}
	return false
}

// bufferJSON renders data as Node's JSON.stringify(Buffer) does, which is what hydra-router puts in
// its error message for a frame that is not JSON (at most maxEchoed bytes of it).
func bufferJSON(data []byte) string {
	data = data[:min(len(data), maxEchoed)]
	b := make([]byte, 0, 32+4*len(data))
	b = append(b, `{"type":"Buffer","data":[`...)
	for i, x := range data {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(x), 10)
	}
	return string(append(b, "]}"...))
}

// echo is the frame as text, cut at maxEchoed bytes.
func echo(data []byte) string {
	if len(data) > maxEchoed {
		return string(data[:maxEchoed]) + "…"
	}
	return string(data)
}

// reasonBody is hydra's failure result.
func reasonBody(reason string) json.RawMessage {
	b, _ := json.Marshal(map[string]string{"reason": reason})
	return b
}

// answer builds the reply to a frame of c: to/frm swapped (for the router API: to the socket, from
// the router), rmid = the frame's mid, bdy = body.
func (g *Gateway) answer(c *client, msg *umf.Message, router bool, body json.RawMessage) *umf.Message {
	to, from := msg.From, msg.To
	if router {
		g.mu.Lock()
		to = c.id + "@client:/"
		g.mu.Unlock()
		from = g.self
	}
	r := g.message(to, from, "")
	r.RMID = msg.MID
	r.Body = body
	return r
}

// call runs f on a goroutine of its own once c and the gateway have a free in-flight slot: the
// reader waits for one, which holds the client back (GatewayMaxInFlight). f gets the client's ID
// at the time of the frame, where its answer goes.
func (g *Gateway) call(c *client, f func(id string)) bool {
	select {
	case c.inflight <- struct{}{}:
	case <-c.ctx.Done():
		return false
	}
	select {
	case g.inflight <- struct{}{}:
	case <-c.ctx.Done():
		<-c.inflight
		return false
	}
	g.mu.Lock()
	id := c.id
	g.mu.Unlock()
	if !g.goroutine(func() {
		defer func() { <-g.inflight; <-c.inflight }()
		f(id)
	}) {
		<-g.inflight
		<-c.inflight
		return false
	}
	return true
}

// callHTTP makes the HTTP call a svc:[method]/path frame asks for and answers the socket with the
// service's result.
func (g *Gateway) callHTTP(c *client, id string, msg *umf.Message, to umf.Address, router bool) {
	var body json.RawMessage
	if g.cfg.caller == nil {
		body = reasonBody("wsgate: no HTTP caller")
	} else {
		header := http.Header{}
		if len(msg.Headers) > 0 {
			var h map[string]any
			if json.Unmarshal(msg.Headers, &h) == nil {
				for k, v := range h {
					if s, ok := v.(string); ok {
						header.Set(k, s)
					}
				}
			}
		}
		method := strings.ToUpper(to.Method)
		var payload []byte
		if method != http.MethodGet && method != http.MethodHead {
			payload = msg.Body
			if header.Get("Content-Type") == "" {
				header.Set("Content-Type", "application/json")
			}
		}
		target := to.Route
		if target == "" {
			target = "/"
		}
		ctx, cancel := context.WithTimeout(g.ctx, g.cfg.replyTimeout)
		resp, err := g.cfg.caller.CallHTTP(ctx, to.Service, method, target, header, payload)
		cancel()
		if err != nil {
			body = reasonBody(err.Error())
		} else {
			body = resultOf(resp)
		}
	}
	g.deliver(id, g.answer(c, msg, router, body), false, false)
}

// resultOf is what hydra-router puts in bdy for an HTTP answer: the result member of a JSON
// object; a JSON answer without one whole (hydra-router sends {}); any other answer as a string.
func resultOf(resp HTTPResponse) json.RawMessage {
	trimmed := bytes.TrimSpace(resp.Body)
	if len(trimmed) == 0 {
		return json.RawMessage(`{}`)
	}
	if json.Valid(trimmed) {
		if trimmed[0] == '{' {
			var env struct {
				Result json.RawMessage `json:"result"`
			}
			if json.Unmarshal(trimmed, &env) == nil && len(env.Result) > 0 && string(env.Result) != "null" {
				return env.Result
			}
		}
		return trimmed
	}
	s, _ := json.Marshal(string(resp.Body))
	return s
}

// relay sends a svc:/… or inst@svc:/… frame over pub/sub with via = this router and the client, and
// hands the reply (from a Node or a Go service) to the client with the frame's mid as rmid. The
// frame gets a fresh mid on the way, so that clients choosing the same mids never meet in the
// Conn's table of waiting requests.
func (g *Gateway) relay(c *client, id string, msg *umf.Message, to umf.Address) {
	out := *msg
	out.MID = umf.NewMID()
	out.Via = g.iid + "-" + id + "@" + keyspace.RouterService + ":/"
	out.Signature = ""
	ctx, cancel := context.WithTimeout(g.ctx, g.cfg.replyTimeout)
	reply, err := g.conn.Request(ctx, &out)
	cancel()
	if err != nil {
		switch {
		case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
			g.stats.unanswered.Add(1) // fire-and-forget, or a reply past GatewayReplyTimeout
			return
		case errors.Is(err, redispubsub.ErrNoInstances):
			err = errors.New("No " + to.Service + " instances available")
		}
		e := g.message("client:/", g.self, "")
		e.RMID = msg.MID
		_ = e.SetBody(map[string]string{"error": err.Error()})
		g.deliver(id, e, false, false)
		return
	}
	r := *reply
	r.RMID = msg.MID
	r.Via = ""
	r.Signature = ""
	g.deliver(id, &r, true, false)
}

// routerFrame handles a frame to hydra-router:/… (no method).
func (g *Gateway) routerFrame(c *client, msg *umf.Message, to umf.Address) bool {
	switch msg.Type {
	case "ping":
		p := &umf.Message{To: msg.From, MID: umf.NewMID(), RMID: msg.MID, Timestamp: umf.FormatTime(g.now()),
			Type: "pong", Version: umf.Version, Body: json.RawMessage(`{"typ":"pong"}`)}
		c.sendMessage(p, false)
		return true
	case "log":
		g.logger.Log("msg", "client log", "client", c.id, "mid", msg.MID, "bdy", echo(msg.Body))
		return true
	case "reconnect", "reconnection":
		return g.reconnect(c, msg)
	case "wsdir.loc":
		var b struct {
			ClientID string `json:"clientID"`
		}
		_ = json.Unmarshal(msg.Body, &b)
		r := &umf.Message{To: msg.From, MID: umf.NewMID(), RMID: msg.MID, Timestamp: umf.FormatTime(g.now()), Version: umf.Version}
		_ = r.SetBody(struct {
			RouterID string `json:"routerID"`
			ClientID string `json:"clientID"`
		}{g.locate(b.ClientID), b.ClientID})
		c.sendMessage(r, false)
		return true
	}
	if to.Route == BroadcastRoute {
		if !c.authorized {
			g.stats.tokenRefused.Add(1)
			c.sendMessage(g.answer(c, msg, true, reasonBody("HR: router token required")), false)
			return true
		}
		out := *msg
		out.Signature = ""
		ctx, cancel := context.WithTimeout(c.ctx, g.cfg.writeTimeout)
		err := g.conn.Broadcast(ctx, &out)
		cancel()
		if err != nil {
			c.sendMessage(g.answer(c, msg, true, reasonBody(err.Error())), false)
		}
		return true
	}
	if msg.Forward != "" {
		g.forward(c, msg)
		return true
	}
	return g.invalid(c, "Unrecognized Hydra Router request")
}
