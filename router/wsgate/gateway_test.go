package wsgate

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/umf"
)

func TestConnectionMessageAndPing(t *testing.T) {
	hk := redistest.Fleet(t, realRedis(t))
	r := startRouter(t, hk)
	c, _, err := dial(t, r.url("any/path"), http.Header{"X-Forwarded-For": {"10.1.2.3"}})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := c.readRaw()
	if err != nil {
		t.Fatal(err)
	}
	var conn struct {
		To, Frm, Mid, Ts, Typ, Ver string
		Bdy                        struct{ ID, IP string }
	}
	if err := json.Unmarshal(raw, &conn); err != nil {
		t.Fatal(err)
	}
	if want, have := conn.Bdy.ID+"@client:/", conn.To; want != have {
		t.Errorf("to: want %q, have %q", want, have)
	}
	if want, have := r.iid+"@hydra-router:/", conn.Frm; want != have {
		t.Errorf("frm: want %q, have %q", want, have)
	}
	if want, have := "10.1.2.3", conn.Bdy.IP; want != have {
		t.Errorf("ip: want %q, have %q", want, have)
	}
	// Keys in toShort order.
	if want := `{"to":"` + conn.To + `","frm":"` + conn.Frm + `","mid":"`; !strings.HasPrefix(string(raw), want) {
		t.Errorf("want a frame starting %s, have %s", want, raw)
	}
	if want, have := []string{conn.Bdy.ID}, r.g.Clients(); len(have) != 1 || have[0] != want[0] {
		t.Errorf("Clients: want %v, have %v", want, have)
	}

	c.send(`{"to":"hydra-router:/","frm":"smoke-client:/","mid":"p1","typ":"ping","bdy":{}}`)
	pong := c.read()
	if pong.Type != "pong" || pong.RMID != "p1" || pong.To != "smoke-client:/" || pong.From != "" || string(pong.Body) != `{"typ":"pong"}` {
		t.Errorf("bad pong: %+v", pong)
	}
}

func TestPubSubRepliesCarryRMID(t *testing.T) {
	hk := redistest.Fleet(t, realRedis(t))
	svc := redistest.Name("echo")
	iid := startEcho(t, hk, svc)
	r := startRouter(t, hk)
	c := connect(t, r.url(""))
	// Two clients choosing the same mid must not meet.
	c2 := connect(t, r.url(""))
	c.send(`{"to":"` + svc + `:/x","frm":"client:/","mid":"same","bdy":{"n":1}}`)
	c2.send(`{"to":"` + svc + `:/x","frm":"client:/","mid":"same","bdy":{"n":2}}`)
	c.send(`{"to":"` + iid + `@` + svc + `:/x","frm":"client:/","mid":"direct","bdy":{"n":3}}`)
	onC, onC2 := c.readReplies(2), c2.readReplies(1)
	for _, tc := range []struct {
		c          *wsClient
		m          *umf.Message
		rmid, want string
	}{{c, onC["same"], "same", `{"echo":{"n":1}}`}, {c2, onC2["same"], "same", `{"echo":{"n":2}}`}, {c, onC["direct"], "direct", `{"echo":{"n":3}}`}} {
		m := tc.m
		if m == nil {
			t.Errorf("no reply to %s", tc.rmid)
			continue
		}
		if want, have := tc.want, string(m.Body); want != have {
			t.Errorf("want %s, have %s", want, have)
		}
		if m.Via != "" {
			t.Errorf("via left in the frame: %q", m.Via)
		}
		if want, have := r.iid+"-"+tc.c.ID+"@hydra-router:/", m.To; want != have {
			t.Errorf("to: want %q, have %q", want, have)
		}
	}
	c.send(`{"to":"nosuchsvc:/x","frm":"client:/","mid":"none","bdy":{}}`)
	if m := c.readReply("none"); !strings.Contains(string(m.Body), "No nosuchsvc instances available") {
		t.Errorf("no instances: have %s", m.Body)
	}
}

type fakeCaller struct {
	mu    sync.Mutex
	calls []string
	resp  HTTPResponse
	err   error
}

func (f *fakeCaller) CallHTTP(_ context.Context, service, method, target string, header http.Header, body []byte) (HTTPResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, service+" "+method+" "+target+" "+header.Get("X-Test")+" "+string(body))
	return f.resp, f.err
}

func (f *fakeCaller) last() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		return ""
	}
	return f.calls[len(f.calls)-1]
}

func TestHTTPFrames(t *testing.T) {
	hk := redistest.Fleet(t, realRedis(t))
	caller := &fakeCaller{resp: HTTPResponse{Status: 200, Body: []byte(`{"statusCode":200,"result":{"ok":true}}`)}}
	r := startRouter(t, hk, GatewayHTTPCaller(caller))
	c := connect(t, r.url(""))
	c.send(`{"to":"hxsvc:[post]/v1/hx/echo?q=1","frm":"smoke-client:/","hdr":{"x-test":"yes"},"mid":"h1","bdy":{"a":1}}`)
	m := c.readReply("h1")
	if m.To != "smoke-client:/" || m.From != "hxsvc:[post]/v1/hx/echo?q=1" || string(m.Body) != `{"ok":true}` {
		t.Errorf("bad reply: %+v body %s", m, m.Body)
	}
	if want, have := `hxsvc POST /v1/hx/echo?q=1 yes {"a":1}`, caller.last(); want != have {
		t.Errorf("want call %q, have %q", want, have)
	}
	caller.mu.Lock()
	caller.resp = HTTPResponse{Status: 200, Body: []byte("plain text")}
	caller.mu.Unlock()
	c.send(`{"to":"hxsvc:[get]/t","frm":"c:/","mid":"h2","bdy":{}}`)
	if m := c.readReply("h2"); string(m.Body) != `"plain text"` {
		t.Errorf("non-JSON: have %s", m.Body)
	}
	caller.mu.Lock()
	caller.err = errors.New("Unavailable hxsvc instances")
	caller.mu.Unlock()
	c.send(`{"to":"hxsvc:[get]/t","frm":"c:/","mid":"h3","bdy":{}}`)
	if m := c.readReply("h3"); string(m.Body) != `{"reason":"Unavailable hxsvc instances"}` {
		t.Errorf("failure: have %s", m.Body)
	}
}

func TestRouterAPITokenCheck(t *testing.T) {
	hk := redistest.Fleet(t, realRedis(t))
	caller := &fakeCaller{resp: HTTPResponse{Status: 200, Body: []byte(`{"result":{"version":"1.9.15"}}`)}}
	r := startRouter(t, hk, GatewayHTTPCaller(caller), GatewayRouterToken("s3cret"))
	frame := `{"to":"hydra-router:[get]/v1/router/version","frm":"c:/","mid":"v","bdy":{}}`

	c := connect(t, r.url("?token=wrong"))
	c.send(frame)
	if m := c.readReply("v"); string(m.Body) != `{"reason":"HR: router token required"}` {
		t.Errorf("without the token: have %s", m.Body)
	}
	if caller.last() != "" {
		t.Errorf("the router API was called without the token: %q", caller.last())
	}
	c.send(`{"to":"hydra-router:/broadcast","frm":"c:/","mid":"b","bdy":{}}`)
	if m := c.readReply("b"); string(m.Body) != `{"reason":"HR: router token required"}` {
		t.Errorf("broadcast without the token: have %s", m.Body)
	}

	ok := connect(t, r.url("?token=s3cret"))
	ok.send(frame)
	m := ok.readReply("v")
	if string(m.Body) != `{"version":"1.9.15"}` || m.To != ok.ID+"@client:/" || m.From != r.iid+"@hydra-router:/" {
		t.Errorf("with the token: %+v %s", m, m.Body)
	}
	if want, have := "hydra-router GET /v1/router/version  ", caller.last(); want != have {
		t.Errorf("want %q, have %q", want, have)
	}
	if want, have := uint64(2), r.g.Stats().TokenRefused; want != have {
		t.Errorf("TokenRefused: want %d, have %d", want, have)
	}
}

func TestInvalidFramesAnsweredThenClosed(t *testing.T) {
	hk := redistest.Fleet(t, realRedis(t))
	r := startRouter(t, hk)
	for _, tc := range []struct{ frame, want string }{
		{"not json", `HR: Invalid UMF message: {"type":"Buffer","data":[110,111,116,32,106,115,111,110]} closing connection`},
		{`{"to":"hxsvc:[get]/v1/hx/hello","mid":"x"}`, `HR: Invalid UMF message: {"to":"hxsvc:[get]/v1/hx/hello","mid":"x"} closing connection`},
		{`{"to":"hydra-router:/","frm":"c:/","mid":"x","typ":"bogus","bdy":{}}`, `Unrecognized Hydra Router request`},
		{`{"to":"hydra-router:/","frm":"c:/","mid":"x","typ":"reconnect","bdy":{}}`, `reconnect message missing reconnect id`},
	} {
		c := connect(t, r.url(""))
		c.send(tc.frame)
		m := c.read()
		var b struct{ Error string }
		_ = m.DecodeBody(&b)
		if m.To != "client:/" || m.From != r.iid+"@hydra-router:/" || b.Error != tc.want {
			t.Errorf("%s: want error %q, have %+v %s", tc.frame, tc.want, m, m.Body)
		}
		if want, have := websocket.StatusPolicyViolation, c.closeStatus(); want != have {
			t.Errorf("%s: want close %v, have %v", tc.frame, want, have)
		}
	}
	if want, have := uint64(4), r.g.Stats().Invalid; want != have {
		t.Errorf("Invalid: want %d, have %d", want, have)
	}
}

func TestOversizedFrameClosesTheSocket(t *testing.T) {
	hk := redistest.Fleet(t, realRedis(t))
	r := startRouter(t, hk, GatewayMaxFrameSize(256))
	c := connect(t, r.url(""))
	c.send(`{"to":"hydra-router:/","frm":"c:/","typ":"ping","bdy":"` + strings.Repeat("x", 300) + `"}`)
	if want, have := websocket.StatusMessageTooBig, c.closeStatus(); want != have {
		t.Errorf("want close %v, have %v", want, have)
	}
	redistest.Eventually(t, "the oversized count", func() bool { return r.g.Stats().Oversized == 1 })
}

func TestTooManyClients(t *testing.T) {
	hk := redistest.Fleet(t, realRedis(t))
	r := startRouter(t, hk, GatewayMaxClients(1))
	first := connect(t, r.url(""))
	_, resp, err := dial(t, r.url(""), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("want 503, have %v %v", resp, err)
	}
	_ = first.ws.Close(websocket.StatusNormalClosure, "")
	redistest.Eventually(t, "the first client's slot to be free", func() bool {
		r.g.mu.Lock()
		defer r.g.mu.Unlock()
		return r.g.slots == 0
	})
	connect(t, r.url(""))
	if want, have := uint64(1), r.g.Stats().RefusedClients; want != have {
		t.Errorf("RefusedClients: want %d, have %d", want, have)
	}
}

func TestOriginChecks(t *testing.T) {
	hk := redistest.Fleet(t, realRedis(t))
	strict := startRouter(t, hk)
	_, resp, err := dial(t, strict.url(""), http.Header{"Origin": {"http://evil.example"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a foreign origin: want 403, have %v %v", resp, err)
	}
	host := strings.TrimPrefix(strict.srv.URL, "http://")
	if _, _, err := dial(t, strict.url(""), http.Header{"Origin": {"http://" + host}}); err != nil {
		t.Errorf("same origin refused: %v", err)
	}
	allowed := startRouter(t, hk, GatewayOrigins("*.good.example"))
	if _, _, err := dial(t, allowed.url(""), http.Header{"Origin": {"https://app.good.example"}}); err != nil {
		t.Errorf("allowed origin refused: %v", err)
	}
	if _, resp, err := dial(t, allowed.url(""), http.Header{"Origin": {"https://bad.example"}}); err == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("a foreign origin: want 403, have %v %v", resp, err)
	}
	if _, err := New(hk, strict.conn, GatewayOrigins("[")); !errors.Is(err, ErrConfig) {
		t.Errorf("bad pattern: want ErrConfig, have %v", err)
	}
}

func TestUnsignedFramesRefusedWhenRequired(t *testing.T) {
	if _, err := New(redistest.Fleet(t, realRedis(t)), nil); !errors.Is(err, ErrConfig) {
		t.Errorf("nil conn: want ErrConfig, have %v", err)
	}
	const secret = "fleet-secret"
	hk := redistest.Fleet(t, realRedis(t), hydrakit.WithSigning(secret))
	r := startRouter(t, hk, GatewayRequireSignatures())

	c := connect(t, r.url(""))
	c.send(`{"to":"hydra-router:/","frm":"c:/","mid":"u","typ":"ping","bdy":{}}`)
	var b struct{ Error string }
	_ = c.read().DecodeBody(&b)
	if want, have := "Not a signed UMF message", b.Error; want != have {
		t.Errorf("want %q, have %q", want, have)
	}
	if want, have := websocket.StatusPolicyViolation, c.closeStatus(); want != have {
		t.Errorf("want close %v, have %v", want, have)
	}

	signed := connect(t, r.url(""))
	m := &umf.Message{To: "hydra-router:/", From: "c:/", MID: "s", Type: "ping", Timestamp: umf.FormatTime(time.Now()), Version: umf.Version, Body: json.RawMessage(`{}`)}
	if err := umf.Sign(m, []byte(secret)); err != nil {
		t.Fatal(err)
	}
	data, _ := m.Marshal()
	signed.send(string(data))
	if pong := signed.readReply("s"); pong.Type != "pong" {
		t.Errorf("signed ping: have %+v", pong)
	}
	if want, have := uint64(1), r.g.Stats().Unsigned; want != have {
		t.Errorf("Unsigned: want %d, have %d", want, have)
	}
}

func TestSlowClientIsDisconnectedNotBuffered(t *testing.T) {
	hk := redistest.Fleet(t, realRedis(t))
	const frames, bytes = 4, 64 << 10
	r := startRouter(t, hk, GatewaySendQueue(frames, bytes), GatewayWriteTimeout(time.Minute))
	connect(t, r.url("")) // never reads again
	big := &umf.Message{To: "hydra-router:/broadcast", MID: "b", Body: json.RawMessage(`"` + strings.Repeat("x", 32<<10) + `"`)}
	for i := 0; r.g.Stats().Slow == 0; i++ {
		if i > 100000 {
			t.Fatal("the slow client was never disconnected")
		}
		r.g.mu.Lock()
		for _, c := range r.g.clients {
			c.qmu.Lock()
			if c.qbytes > bytes+len(big.Body)+64 || len(c.out) > frames {
				t.Fatalf("send queue past its bound: %d bytes, %d frames", c.qbytes, len(c.out))
			}
			c.qmu.Unlock()
		}
		r.g.mu.Unlock()
		r.g.handleBroadcast(context.Background(), nil, big)
	}
	redistest.Eventually(t, "the slow client to leave", func() bool { return len(r.g.Clients()) == 0 })
}

func TestReconnectGetsWhatWasQueued(t *testing.T) {
	for _, typ := range []string{"reconnect", "reconnection"} {
		t.Run(typ, func(t *testing.T) {
			hk := redistest.Fleet(t, realRedis(t))
			r := startRouter(t, hk)
			sender := connect(t, r.url(""))
			away := connect(t, r.url(""))
			id := away.ID
			_ = away.ws.Close(websocket.StatusNormalClosure, "")
			redistest.Eventually(t, "the client to leave", func() bool { return len(r.g.Clients()) == 1 })
			for i := range 3 {
				sender.send(frameJSON(t, map[string]any{"to": "hydra-router:/", "frm": "sender:/", "mid": "q" + string(rune('0'+i)), "fwd": id + "@client:/", "bdy": map[string]int{"n": i}}))
			}
			// An unknown client's messages are refused, not queued.
			sender.send(`{"to":"hydra-router:/","frm":"sender:/","mid":"unk","fwd":"nobody@client:/","bdy":{}}`)
			if m := sender.readReply("unk"); string(m.Body) != `{"reason":"HR: unknown client nobody"}` {
				t.Errorf("unknown client: have %s", m.Body)
			}
			back := connect(t, r.url(""))
			back.send(frameJSON(t, map[string]any{"to": "hydra-router:/", "frm": "back:/", "mid": "r", "typ": typ, "bdy": map[string]string{"id": id}}))
			m := back.read()
			var b struct{ ID string }
			_ = m.DecodeBody(&b)
			if m.Type != "connection" || b.ID != id || m.To != id+"@client:/" {
				t.Fatalf("want a connection message for %s, have %+v %s", id, m, m.Body)
			}
			for i := range 3 {
				m := back.read()
				if want, have := frameJSON(t, map[string]int{"n": i}), string(m.Body); want != have {
					t.Errorf("queued %d: want %s, have %s", i, want, have)
				}
				if want, have := id+"@client:/", m.To; want != have {
					t.Errorf("to: want %q, have %q", want, have)
				}
			}
			if want, have := []string{id, sender.ID}, r.g.Clients(); len(have) != 2 || (have[0] != want[0] && have[0] != want[1]) {
				t.Errorf("Clients: want %v, have %v", want, have)
			}
			redistest.Eventually(t, "the last delivery to be counted", func() bool { return r.g.Stats().Delivered == 3 })
			if st := r.g.Stats(); st.Queued != 3 || st.UnknownClients != 1 {
				t.Errorf("stats: %+v", st)
			}
		})
	}
}

func TestForwardAcrossRoutersAndBroadcast(t *testing.T) {
	hk := redistest.Fleet(t, realRedis(t))
	a := startRouter(t, hk)
	b := startRouter(t, hk, GatewayRouterToken("tok"))
	onA := connect(t, a.url(""))
	onB := connect(t, b.url("?token=tok"))
	redistest.Eventually(t, "A to learn of B's client", func() bool { return a.g.locate(onB.ID) == b.iid })
	onA.send(frameJSON(t, map[string]any{"to": "hydra-router:/", "frm": onA.ID + "@client:/", "mid": "f1", "rmid": "earlier", "fwd": onB.ID + "@client:/", "bdy": map[string]string{"hi": "b"}}))
	m := onB.read()
	if string(m.Body) != `{"hi":"b"}` || m.RMID != "earlier" || m.To != onB.ID+"@client:/" || m.From != onA.ID+"@client:/" {
		t.Errorf("fwd: have %+v %s", m, m.Body)
	}
	onA.send(`{"to":"hydra-router:/","frm":"c:/","mid":"loc","typ":"wsdir.loc","bdy":{"clientID":"` + onB.ID + `"}}`)
	if m := onA.readReply("loc"); string(m.Body) != `{"routerID":"`+b.iid+`","clientID":"`+onB.ID+`"}` {
		t.Errorf("wsdir.loc: have %s", m.Body)
	}
	if dir := a.g.Directory(); len(dir[b.iid]) != 1 || dir[b.iid][0] != onB.ID {
		t.Errorf("Directory: have %v", dir)
	}
	// The broadcast address reaches the clients of every router.
	onB.send(`{"to":"hydra-router:/broadcast","frm":"c:/","mid":"all","bdy":{"to":"all"}}`)
	for _, c := range []*wsClient{onA, onB} {
		if m := c.read(); m.MID != "all" || string(m.Body) != `{"to":"all"}` {
			t.Errorf("broadcast: have %+v %s", m, m.Body)
		}
	}
}
