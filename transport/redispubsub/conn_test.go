package redispubsub

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/umf"
)

func TestDispatchByRouteAndDefault(t *testing.T) {
	client := pubsubRedis(t)
	svc := redistest.Name("disp") // broadcasts: unique even on a shared REDIS_URL
	server := newConn(t, client, svc)
	got := make(chan string, 8)
	mark := func(name string) Handler {
		return Handler(func(_ context.Context, _ *Conn, _ *umf.Message) { got <- name })
	}
	server.Handle("/a", mark("route"))
	server.Handle("/gone", mark("removed"))
	server.Handle("/gone", nil)
	server.HandleDefault(mark("default"))

	for _, tc := range []struct{ to, typ, want string }{
		{svc + ":[post]/a", "ping", "route"}, // the verb is ignored
		{svc + ":/b", "ping", "default"},
		{svc + ":/gone", "", "default"},
	} {
		msg := &umf.Message{To: tc.to, Type: tc.typ}
		if err := server.Broadcast(context.Background(), msg); err != nil {
			t.Fatal(err)
		}
		select {
		case have := <-got:
			if tc.want != have {
				t.Errorf("%s typ %q: want %s, have %s", tc.to, tc.typ, tc.want, have)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: not dispatched", tc.to)
		}
	}
}

func TestBroadcastReachesEveryInstance(t *testing.T) {
	client := pubsubRedis(t)
	var n atomic.Int32
	h := Handler(func(context.Context, *Conn, *umf.Message) { n.Add(1) })
	fleet := redistest.Name("fleet")
	for range 3 {
		newConn(t, client, fleet).HandleDefault(h)
	}
	sender := newConn(t, client, "sender")
	if err := sender.Broadcast(context.Background(), &umf.Message{To: fleet + ":/hello", Body: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "3 instances got the broadcast", func() bool { return n.Load() == 3 })
	if err := sender.Broadcast(context.Background(), &umf.Message{To: redistest.Name("nobody") + ":/"}); !errors.Is(err, ErrNoResponders) {
		t.Errorf("want ErrNoResponders, have %v", err)
	}
}

func TestSendIsFireAndForget(t *testing.T) {
	client := pubsubRedis(t)
	server := newConn(t, client, "sink")
	served := make(chan struct{}, 2)
	sub := serve(t, func(context.Context, interface{}) (interface{}, error) { return "ignored", nil }, nopDecoder, EncodeJSONResponse)
	server.Handle("/in", func(ctx context.Context, c *Conn, m *umf.Message) {
		sub(ctx, c, m) // a reply, if it sent one, is published before this returns
		served <- struct{}{}
	})
	sender := newConn(t, client, "sender", withInstances(idOf(server)))
	marker := make(chan struct{}, 1)
	sender.Handle("/marker", func(context.Context, *Conn, *umf.Message) { marker <- struct{}{} })

	// To one named instance, and to the service through discovery; no frm: nothing is replied.
	for _, to := range []string{addr("sink", idOf(server), "/in"), "sink:/in"} {
		if err := sender.Send(context.Background(), &umf.Message{To: to}); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		receive(t, served, "a message served")
	}
	// Redis delivers one channel's messages in order: a reply would reach the sender before a message
	// the server sends it afterwards.
	if err := server.Send(context.Background(), &umf.Message{To: addr("sender", idOf(sender), "/marker")}); err != nil {
		t.Fatal(err)
	}
	receive(t, marker, "the marker")
	if want, have := uint64(1), sender.Stats().Received; want != have {
		t.Errorf("sender received %d messages besides the marker; fire-and-forget must not reply", have-1)
	}
	empty := newConn(t, client, "sender2", withInstances())
	if err := empty.Send(context.Background(), &umf.Message{To: "sink:/in"}); !errors.Is(err, ErrNoInstances) {
		t.Errorf("want ErrNoInstances, have %v", err)
	}
}

func TestReplyGoesToVia(t *testing.T) {
	client := pubsubRedis(t)
	server := newConn(t, client, "calc")
	server.Handle("/sum", serve(t, sumEndpoint, decodeSumRequest, EncodeJSONResponse))
	// A gateway (hydra-router style) sends with via = <iid>-<client>@hydra-router:/; the reply must
	// go to that instance's channel, not to frm.
	router := keyspace.NewInstanceID()
	ps := client.Subscribe(context.Background(), keyspace.New().InstanceChannel("hydra-router", router))
	defer ps.Close()
	if _, err := ps.Receive(ctxTimeout(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	msg := &umf.Message{
		To: addr("calc", idOf(server), "/sum"), From: "client:/", MID: "m-1",
		Via: router + "-ws7@hydra-router:/", Body: []byte(`{"A":1,"B":2}`),
	}
	if err := server.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	m, err := ps.ReceiveMessage(ctxTimeout(t, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	reply, err := umf.Unmarshal([]byte(m.Payload))
	if err != nil {
		t.Fatal(err)
	}
	if want, have := router+"-ws7@hydra-router:/", reply.To; want != have {
		t.Errorf("to: want %q, have %q", want, have)
	}
	if want, have := "m-1", reply.RMID; want != have {
		t.Errorf("rmid: want %q, have %q", want, have)
	}
	if want, have := `{"V":3}`, string(reply.Body); want != have {
		t.Errorf("bdy: want %s, have %s", want, have)
	}
}

func TestMalformedPayloadsAreCountedAndSkipped(t *testing.T) {
	client := pubsubRedis(t)
	server := newConn(t, client, "calc")
	caller := newConn(t, client, "caller")
	server.Handle("/sum", serve(t, sumEndpoint, decodeSumRequest, EncodeJSONResponse))
	bad := []string{
		"not json",
		`{"to":5,"frm":"x:/"}`,
		`{"to":"calc:/sum","mid":{"no":"string"}}`,
		`{"frm":"caller:/","bdy":{}}`, // no to
		`[1,2,3]`,
		`null`,
		`{"to":"calc:/sum"`,
		`{"to":"calc:/sum","bdy":"` + strings.Repeat("x", 1<<20) + `"}`, // over 1 MiB
	}
	// Both channels: direct and broadcast; the caller's reply channel too.
	channels := []string{
		keyspace.New().InstanceChannel("calc", idOf(server)),
		keyspace.New().ServiceChannel("calc"),
		keyspace.New().InstanceChannel("caller", idOf(caller)),
	}
	for _, ch := range channels {
		for _, p := range bad {
			if err := client.Publish(context.Background(), ch, p).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	e := publisherEndpoint(t, caller, addr("calc", idOf(server), "/sum"), EncodeJSONRequest, decodeSumResponse)
	if _, err := e(ctxTimeout(t, 5*time.Second), sumRequest{A: 1, B: 1}); err != nil {
		t.Fatalf("the Conn stopped answering after malformed input: %v", err)
	}
	want := uint64(2 * len(bad))
	eventually(t, "malformed counted", func() bool {
		return server.Stats().Malformed == want && caller.Stats().Malformed == uint64(len(bad))
	})
}

func TestHandlerConcurrencyLimit(t *testing.T) {
	client := pubsubRedis(t)
	release := make(chan struct{})
	busy := redistest.Name("busy")
	server := newConn(t, client, busy, ConnConcurrency(1))
	server.HandleDefault(Handler(func(ctx context.Context, _ *Conn, _ *umf.Message) {
		select {
		case <-release:
		case <-ctx.Done():
		}
	}))
	for range 3 {
		if err := server.Broadcast(context.Background(), &umf.Message{To: busy + ":/"}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "two messages refused as busy", func() bool { return server.Stats().Busy == 2 })
	close(release)
}

func TestCloseFailsPendingAndCancelsHandlers(t *testing.T) {
	client := pubsubRedis(t)
	server, err := NewConn(fleetOn(t, client), "slow", keyspace.NewInstanceID())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = server.Close() })
	caller, err := NewConn(fleetOn(t, client), "caller", keyspace.NewInstanceID())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = caller.Close() })
	handlerDone := make(chan error, 1)
	server.Handle("/slow", serve(t, func(ctx context.Context, _ interface{}) (interface{}, error) {
		<-ctx.Done()
		handlerDone <- ctx.Err()
		return nil, ctx.Err()
	}, nopDecoder, EncodeJSONResponse))

	res := make(chan error, 1)
	e := publisherEndpoint(t, caller, addr("slow", idOf(server), "/slow"), EncodeJSONRequest, decodeSumResponse)
	go func() { _, err := e(context.Background(), nil); res <- err }()
	eventually(t, "request pending", func() bool { return caller.Stats().Pending == 1 && server.Stats().Handled == 1 })
	if err := caller.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-res; !errors.Is(err, ErrClosed) {
		t.Errorf("want ErrClosed, have %v", err)
	}
	if _, err := e(context.Background(), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: want ErrClosed, have %v", err)
	}
	if err := caller.Close(); err != nil {
		t.Errorf("a second Close: want the first one's nil, have %v", err)
	}
	if err := server.Close(); err != nil { // cancels the handler's context and waits for it
		t.Fatal(err)
	}
	select {
	case err := <-handlerDone:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("want Canceled, have %v", err)
		}
	default:
		t.Fatal("Close returned before the handler")
	}
}

// A handler that ignores its context holds Close up for the grace period only; Close then reports
// it, and every later call returns the same error.
func TestCloseGivesUpOnAHandlerIgnoringItsContext(t *testing.T) {
	client := pubsubRedis(t)
	server, err := NewConn(fleetOn(t, client), "stuck", keyspace.NewInstanceID(), withCloseGrace(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	server.HandleDefault(func(context.Context, *Conn, *umf.Message) { <-release })
	caller := newConn(t, client, "caller")
	if err := caller.Send(context.Background(), &umf.Message{To: addr("stuck", idOf(server), "/")}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the handler to run", func() bool { return server.Stats().Handled == 1 })
	first := server.Close()
	if !errors.Is(first, context.DeadlineExceeded) {
		t.Errorf("want DeadlineExceeded, have %v", first)
	}
	if err := server.Close(); err != first {
		t.Errorf("a second Close: want the first one's %v, have %v", first, err)
	}
	close(release)
}

func TestRedisRestart(t *testing.T) {
	srv := redistest.Start(t)
	client := srv.Client(t)
	server := newConn(t, client, "calc", withProbeInterval(500*time.Millisecond))
	caller := newConn(t, client, "caller", withProbeInterval(500*time.Millisecond))
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	server.Handle("/sum", serve(t, sumEndpoint, decodeSumRequest, EncodeJSONResponse))
	server.Handle("/hang", Handler(func(ctx context.Context, _ *Conn, _ *umf.Message) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
		}
	}))
	defer close(release)
	hang := publisherEndpoint(t, caller, addr("calc", idOf(server), "/hang"), EncodeJSONRequest, decodeSumResponse)
	sum := publisherEndpoint(t, caller, addr("calc", idOf(server), "/sum"), EncodeJSONRequest, decodeSumResponse)

	res := make(chan error, 1)
	go func() { _, err := hang(context.Background(), nil); res <- err }()
	// Kill Redis only once the request was published and received: a kill during PUBLISH would
	// fail it with the publish error instead, which is not what this test is about.
	select {
	case <-arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("the request never reached the server")
	}
	srv.Kill(t)
	select {
	case err := <-res:
		if !errors.Is(err, ErrConnectionLost) {
			t.Errorf("want ErrConnectionLost, have %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the in-flight request hangs after Redis died")
	}
	if _, err := sum(context.Background(), sumRequest{}); err == nil {
		t.Error("a request succeeded while Redis is down")
	}
	srv.Restart(t)
	eventually(t, "both Conns resubscribed", func() bool {
		return server.Stats().Reconnects >= 1 && caller.Stats().Reconnects >= 1
	})
	resp, err := sum(ctxTimeout(t, 5*time.Second), sumRequest{A: 20, B: 22})
	if err != nil {
		t.Fatal(err)
	}
	if want, have := 42, resp.(sumResponse).V; want != have {
		t.Errorf("want %d, have %d", want, have)
	}
}

func TestHandlerPanicIsRecovered(t *testing.T) {
	client := pubsubRedis(t)
	server := newConn(t, client, "calc")
	caller := newConn(t, client, "caller")
	server.Handle("/boom", serve(t, func(context.Context, interface{}) (interface{}, error) {
		panic("boom")
	}, nopDecoder, EncodeJSONResponse))
	server.Handle("/sum", serve(t, sumEndpoint, decodeSumRequest, EncodeJSONResponse))
	boom := publisherEndpoint(t, caller, addr("calc", idOf(server), "/boom"), EncodeJSONRequest, decodeSumResponse)
	var re *RemoteError
	if _, err := boom(context.Background(), nil); !errors.As(err, &re) || re.Code != 500 {
		t.Errorf("want a 500 error reply, have %v", err)
	}
	eventually(t, "panic counted", func() bool { return server.Stats().Panics == 1 })
	sum := publisherEndpoint(t, caller, addr("calc", idOf(server), "/sum"), EncodeJSONRequest, decodeSumResponse)
	if _, err := sum(ctxTimeout(t, 5*time.Second), sumRequest{A: 1}); err != nil {
		t.Fatalf("the Conn stopped answering after a panic: %v", err)
	}
}

// CLIENT KILL drops the subscription connections while Redis stays up: go-redis re-dials, the Conn
// fails what was in flight and works again without a restart.
func TestSubscriptionKilled(t *testing.T) {
	client := redistest.Client(t)
	server := newConn(t, client, "calc")
	caller := newConn(t, client, "caller")
	server.Handle("/sum", serve(t, sumEndpoint, decodeSumRequest, EncodeJSONResponse))
	sum := publisherEndpoint(t, caller, addr("calc", idOf(server), "/sum"), EncodeJSONRequest, decodeSumResponse)
	if _, err := sum(context.Background(), sumRequest{A: 1}); err != nil {
		t.Fatal(err)
	}
	if err := client.ClientKillByFilter(context.Background(), "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "both Conns resubscribed", func() bool {
		return server.Stats().Reconnects >= 1 && caller.Stats().Reconnects >= 1
	})
	if _, err := sum(ctxTimeout(t, 5*time.Second), sumRequest{A: 2}); err != nil {
		t.Fatal(err)
	}
}

// countingLogger counts the lines whose msg is msg.
type countingLogger struct {
	msg string
	n   atomic.Int32
}

func (l *countingLogger) Log(kv ...any) error {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i] == "msg" && kv[i+1] == l.msg {
			l.n.Add(1)
		}
	}
	return nil
}

// With the client's clock standing still, 100 malformed messages make one log line: the rest fall
// within the second after it.
func TestDroppedMessagesDoNotFloodTheLog(t *testing.T) {
	client := pubsubRedis(t)
	logger := &countingLogger{msg: "dropped malformed message"}
	frozen := func() time.Time { return time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC) }
	server, err := NewConn(fleetOn(t, client, hydrakit.WithLogger(logger), hydrakit.WithClock(frozen)), "calc", keyspace.NewInstanceID())
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	channel := keyspace.New().InstanceChannel("calc", idOf(server))
	for range 100 {
		if err := client.Publish(context.Background(), channel, "garbage").Err(); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "all counted", func() bool { return server.Stats().Malformed == 100 })
	if want, have := int32(1), logger.n.Load(); want != have {
		t.Errorf("want %d log line for 100 bad messages, have %d", want, have)
	}
}

// Conn.Reply gives the same message as umf.Reply, whatever the bodies.
func TestReplyMatchesUMFReply(t *testing.T) {
	orig := &umf.Message{To: "a@svc:/x", From: "b@caller:/", MID: "m", Type: "t", Body: []byte(`{"big":"request"}`)}
	for _, body := range []string{`{"v":1}`, ` [1]`, `0`, `""`, `null`, `"s"`, ``} {
		resp := &umf.Message{MID: "r", Timestamp: "2026-01-01T00:00:00.000Z", Version: umf.Version, Body: []byte(body)}
		want, err := umf.Reply(orig, resp).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		o := *orig
		if isObjectOrArray(resp.Body) {
			o.Body = nil
		}
		have, err := umf.Reply(&o, resp).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if string(want) != string(have) {
			t.Errorf("body %q: want %s, have %s", body, want, have)
		}
	}
}
