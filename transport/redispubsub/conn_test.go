package redispubsub

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/umf"
)

func TestDispatchByRouteTypeAndDefault(t *testing.T) {
	client := redistest.Client(t)
	svc := redistest.Name("disp") // broadcasts: unique even on a shared REDIS_URL
	server := newConn(t, client, svc)
	got := make(chan string, 8)
	mark := func(name string) Handler {
		return HandlerFunc(func(_ context.Context, _ *Conn, _ *umf.Message) { got <- name })
	}
	server.Handle("/a", mark("route"))
	server.HandleType("ping", mark("type"))
	server.HandleDefault(mark("default"))

	for _, tc := range []struct{ to, typ, want string }{
		{svc + ":[post]/a", "ping", "route"}, // route wins over typ; the verb is ignored
		{svc + ":/b", "ping", "type"},
		{svc + ":/b", "", "default"},
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
	client := redistest.Client(t)
	var n atomic.Int32
	h := HandlerFunc(func(context.Context, *Conn, *umf.Message) { n.Add(1) })
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

type staticLister []string

func (l staticLister) Instances(context.Context, string) ([]string, error) { return l, nil }

func TestSendIsFireAndForget(t *testing.T) {
	client := redistest.Client(t)
	server := newConn(t, client, "sink")
	var served atomic.Int32
	server.Handle("/in", NewSubscriber(func(context.Context, interface{}) (interface{}, error) {
		served.Add(1)
		return "ignored", nil
	}, NopRequestDecoder, EncodeJSONResponse))
	sender := newConn(t, client, "sender", ConnInstanceLister(staticLister{server.InstanceID()}))

	// To one named instance, and to the service through the lister; no frm: nothing is replied.
	for _, to := range []string{InstanceAddress("sink", server.InstanceID(), "/in"), "sink:/in"} {
		if err := sender.Send(context.Background(), &umf.Message{To: to}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "both messages served", func() bool { return served.Load() == 2 })
	time.Sleep(50 * time.Millisecond)
	if want, have := uint64(0), sender.Stats().Received; want != have {
		t.Errorf("sender received %d messages; fire-and-forget must not reply", have)
	}
	empty := newConn(t, client, "sender2", ConnInstanceLister(staticLister{}))
	if err := empty.Send(context.Background(), &umf.Message{To: "sink:/in"}); !errors.Is(err, ErrNoInstances) {
		t.Errorf("want ErrNoInstances, have %v", err)
	}
}

func TestReplyGoesToVia(t *testing.T) {
	client := redistest.Client(t)
	server := newConn(t, client, "calc")
	server.Handle("/sum", NewSubscriber(sumEndpoint, decodeSumRequest, EncodeJSONResponse))
	// A gateway (hydra-router style) sends with via = <iid>-<client>@hydra-router:/; the reply must
	// go to that instance's channel, not to frm.
	router := keyspace.NewInstanceID()
	ps := client.Subscribe(context.Background(), keyspace.Default.InstanceChannel("hydra-router", router))
	defer ps.Close()
	if _, err := ps.Receive(ctxTimeout(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	msg := &umf.Message{
		To: InstanceAddress("calc", server.InstanceID(), "/sum"), From: "client:/", MID: "m-1",
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
	client := redistest.Client(t)
	server := newConn(t, client, "calc")
	caller := newConn(t, client, "caller")
	server.Handle("/sum", NewSubscriber(sumEndpoint, decodeSumRequest, EncodeJSONResponse))
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
		keyspace.Default.InstanceChannel("calc", server.InstanceID()),
		keyspace.Default.ServiceChannel("calc"),
		keyspace.Default.InstanceChannel("caller", caller.InstanceID()),
	}
	for _, ch := range channels {
		for _, p := range bad {
			if err := client.Publish(context.Background(), ch, p).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	e := NewPublisher(caller, InstanceAddress("calc", server.InstanceID(), "/sum"), EncodeJSONRequest, decodeSumResponse).Endpoint()
	if _, err := e(ctxTimeout(t, 5*time.Second), sumRequest{A: 1, B: 1}); err != nil {
		t.Fatalf("the Conn stopped answering after malformed input: %v", err)
	}
	want := uint64(2 * len(bad))
	eventually(t, "malformed counted", func() bool {
		return server.Stats().Malformed == want && caller.Stats().Malformed == uint64(len(bad))
	})
}

func TestHandlerConcurrencyLimit(t *testing.T) {
	client := redistest.Client(t)
	release := make(chan struct{})
	busy := redistest.Name("busy")
	server := newConn(t, client, busy, ConnConcurrency(1))
	server.HandleDefault(HandlerFunc(func(ctx context.Context, _ *Conn, _ *umf.Message) {
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
	eventually(t, "two messages rejected", func() bool { return server.Stats().Rejected == 2 })
	close(release)
}

func TestCloseFailsPendingAndCancelsHandlers(t *testing.T) {
	client := redistest.Client(t)
	server := newConn(t, client, "slow")
	caller, err := NewConn(client, "caller", keyspace.NewInstanceID())
	if err != nil {
		t.Fatal(err)
	}
	parent, stop := context.WithCancel(context.Background())
	handlerDone := make(chan error, 1)
	server.Handle("/slow", NewSubscriber(func(ctx context.Context, _ interface{}) (interface{}, error) {
		<-ctx.Done()
		handlerDone <- ctx.Err()
		return nil, ctx.Err()
	}, NopRequestDecoder, EncodeJSONResponse, SubscriberContext(parent)))

	res := make(chan error, 1)
	e := NewPublisher(caller, InstanceAddress("slow", server.InstanceID(), "/slow"), EncodeJSONRequest, decodeSumResponse).Endpoint()
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
	stop() // shutdown through the Subscriber's parent context
	select {
	case err := <-handlerDone:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("want Canceled, have %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the parent context did not cancel the handler")
	}
}

func TestRedisRestart(t *testing.T) {
	srv := redistest.Start(t)
	client := srv.Client(t)
	server := newConn(t, client, "calc", ConnHealthCheck(500*time.Millisecond))
	caller := newConn(t, client, "caller", ConnHealthCheck(500*time.Millisecond))
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	server.Handle("/sum", NewSubscriber(sumEndpoint, decodeSumRequest, EncodeJSONResponse))
	server.Handle("/hang", HandlerFunc(func(ctx context.Context, _ *Conn, _ *umf.Message) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
		}
	}))
	defer close(release)
	hang := NewPublisher(caller, InstanceAddress("calc", server.InstanceID(), "/hang"), EncodeJSONRequest, decodeSumResponse).Endpoint()
	sum := NewPublisher(caller, InstanceAddress("calc", server.InstanceID(), "/sum"), EncodeJSONRequest, decodeSumResponse).Endpoint()

	res := make(chan error, 1)
	go func() { _, err := hang(context.Background(), nil); res <- err }()
	// Kill Redis only once the request was published and received: a kill during PUBLISH would
	// fail it with the publish error instead, which is not what this test is about.
	select {
	case <-arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("the request never reached the server")
	}
	killed := time.Now()
	srv.Kill(t)
	select {
	case err := <-res:
		if !errors.Is(err, ErrConnectionLost) {
			t.Errorf("want ErrConnectionLost, have %v", err)
		}
		t.Logf("in-flight request failed %v after the kill", time.Since(killed))
	case <-time.After(5 * time.Second):
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
	client := redistest.Client(t)
	server := newConn(t, client, "calc")
	caller := newConn(t, client, "caller")
	server.Handle("/boom", NewSubscriber(func(context.Context, interface{}) (interface{}, error) {
		panic("boom")
	}, NopRequestDecoder, EncodeJSONResponse))
	server.Handle("/sum", NewSubscriber(sumEndpoint, decodeSumRequest, EncodeJSONResponse))
	boom := NewPublisher(caller, InstanceAddress("calc", server.InstanceID(), "/boom"), EncodeJSONRequest,
		decodeSumResponse, PublisherTimeout(200*time.Millisecond)).Endpoint()
	var re *RemoteError
	if _, err := boom(context.Background(), nil); !errors.As(err, &re) || re.Code != 500 {
		t.Errorf("want a 500 error reply, have %v", err)
	}
	eventually(t, "panic counted", func() bool { return server.Stats().Panics == 1 })
	sum := NewPublisher(caller, InstanceAddress("calc", server.InstanceID(), "/sum"), EncodeJSONRequest, decodeSumResponse).Endpoint()
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
	server.Handle("/sum", NewSubscriber(sumEndpoint, decodeSumRequest, EncodeJSONResponse))
	sum := NewPublisher(caller, InstanceAddress("calc", server.InstanceID(), "/sum"), EncodeJSONRequest, decodeSumResponse,
		PublisherTimeout(time.Second)).Endpoint()
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

type countingLogger struct{ n atomic.Int32 }

func (l *countingLogger) Log(...any) error { l.n.Add(1); return nil }

func TestDroppedMessagesDoNotFloodTheLog(t *testing.T) {
	client := redistest.Client(t)
	logger := &countingLogger{}
	server := newConn(t, client, "calc", ConnLogger(logger))
	channel := keyspace.Default.InstanceChannel("calc", server.InstanceID())
	for range 100 {
		if err := client.Publish(context.Background(), channel, "garbage").Err(); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "all counted", func() bool { return server.Stats().Malformed == 100 })
	if n := logger.n.Load(); n > 5 {
		t.Errorf("%d log lines for 100 bad messages within a second or so", n)
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
