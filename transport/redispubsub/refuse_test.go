package redispubsub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/umf"
)

// A saturated instance answers at once with a 503 error reply: the caller fails with ErrBusy, not
// with its deadline.
func TestBusyRepliesServiceUnavailable(t *testing.T) {
	rdb := pubsubRedis(t)
	service := redistest.Name("busy")
	server := newConn(t, rdb, service, ConnConcurrency(1))
	release, started, returned := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	server.Handle("/slow", func(ctx context.Context, c *Conn, m *umf.Message) {
		if calls.Add(1) > 1 { // only the first one holds the slot
			_ = c.Reply(ctx, m, &umf.Message{Body: []byte(`"served"`)})
			return
		}
		defer close(returned)
		close(started)
		select {
		case <-release:
		case <-ctx.Done():
		}
	})
	caller := newConn(t, rdb, "caller")
	e := publisherEndpoint(t, caller, addr(service, idOf(server), "/slow"), EncodeJSONRequest, nopDecoder)
	go func() { _, _ = e(ctxTimeout(t, time.Minute), nil) }() // takes the only slot
	<-started

	// The deadline is far away: only the 503 reply can end the call before it.
	_, err := e(ctxTimeout(t, time.Minute), nil)
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("want ErrBusy, have %v", err)
	}
	var re *RemoteError
	if !errors.As(err, &re) || re.Code != http.StatusServiceUnavailable {
		t.Fatalf("want a *RemoteError 503, have %#v", err)
	}
	// Node callers see Hydra's error body.
	reply, err := caller.Request(ctxTimeout(t, time.Minute), &umf.Message{To: addr(service, idOf(server), "/slow"), MID: "again"})
	if err != nil {
		t.Fatal(err)
	}
	var body errorBody
	if err := json.Unmarshal(reply.Body, &body); err != nil || reply.Type != typeError || body.StatusCode != 503 ||
		body.StatusMessage != "Service Unavailable" || body.Result.Reason == "" {
		t.Errorf("want typ error and a 503 Hydra error body, have typ %q %s (%v)", reply.Type, reply.Body, err)
	}
	eventually(t, "both error replies counted", func() bool { return server.Stats().ErrorReplies == 2 })
	if s := server.Stats(); s.Busy != 2 || s.ErrorReplies != 2 {
		t.Errorf("want 2 busy and 2 error replies, have %+v", s)
	}
	// A message refused unserved is not a duplicate when it comes again: sent anew once the slot is
	// free, it is served.
	close(release)
	<-returned
	reply, err = caller.Request(ctxTimeout(t, time.Minute), &umf.Message{To: addr(service, idOf(server), "/slow"), MID: "again"})
	if err != nil || reply.Type == typeError || string(reply.Body) != `"served"` {
		t.Errorf("the same message again: want it served, have %+v %s %v", reply, reply.Body, err)
	}
}

// listen subscribes to the instance channel of a requester that is not a Conn and returns its
// address and the messages it receives.
func listen(t *testing.T, rdb *goredis.Client) (string, <-chan *goredis.Message) {
	t.Helper()
	id := keyspace.NewInstanceID()
	ps := rdb.Subscribe(context.Background(), keyspace.New().InstanceChannel("probe", id))
	t.Cleanup(func() { _ = ps.Close() })
	if _, err := ps.Receive(ctxTimeout(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	return id + "@probe:/", ps.Channel()
}

func nextReply(t *testing.T, ch <-chan *goredis.Message) *umf.Message {
	t.Helper()
	select {
	case m := <-ch:
		msg, err := umf.Unmarshal([]byte(m.Payload))
		if err != nil {
			t.Fatal(err)
		}
		return msg
	case <-time.After(10 * time.Second):
		t.Fatal("no reply")
		return nil
	}
}

// A message sent to an instance that it cannot serve (no handler for its route, a to it cannot read,
// no to) is answered with a Hydra error reply (404 or 400) when it has a frm and a mid; a broadcast is
// not (every instance would answer), nor a message without a mid.
func TestUnservableMessagesAnswered(t *testing.T) {
	rdb := pubsubRedis(t)
	service := redistest.Name("svc")
	server := newConn(t, rdb, service)
	server.Handle("/known", func(context.Context, *Conn, *umf.Message) {})
	from, replies := listen(t, rdb)
	channel := keyspace.New().InstanceChannel(service, idOf(server))
	for _, tc := range []struct {
		to   string
		code int
	}{
		{addr(service, idOf(server), "/unknown"), http.StatusNotFound},
		{addr(service, idOf(server), "[get/x"), http.StatusBadRequest},
		{"no-colon", http.StatusBadRequest},
		{"", http.StatusBadRequest},
	} {
		msg := &umf.Message{To: tc.to, From: from, MID: "m-" + tc.to, Body: []byte(`{"big":"body"}`)}
		b, err := msg.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if err := rdb.Publish(context.Background(), channel, b).Err(); err != nil {
			t.Fatal(err)
		}
		reply := nextReply(t, replies)
		var body errorBody
		if err := json.Unmarshal(reply.Body, &body); err != nil || reply.Type != typeError || reply.RMID != msg.MID ||
			body.StatusCode != tc.code || body.StatusMessage != http.StatusText(tc.code) {
			t.Errorf("to %q: want a %d error reply to %s, have %+v %s (%v)", tc.to, tc.code, msg.MID, reply, reply.Body, err)
		}
	}
	// No reply to a broadcast or to a message without mid; the next direct one is answered, and
	// its reply is the next one the requester gets.
	for _, m := range []struct{ channel, mid string }{
		{keyspace.New().ServiceChannel(service), "broadcast"},
		{channel, ""},
		{channel, "last"},
	} {
		b, _ := (&umf.Message{To: service + ":/unknown", From: from, MID: m.mid}).Marshal()
		if err := rdb.Publish(context.Background(), m.channel, b).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if reply := nextReply(t, replies); reply.RMID != "last" {
		t.Errorf("want the reply to last, have %+v", reply)
	}
	eventually(t, "the last error reply counted", func() bool { return server.Stats().ErrorReplies == 5 })
	if s := server.Stats(); s.ErrorReplies != 5 || s.Unhandled != 6 || s.Malformed != 1 {
		t.Errorf("want 5 error replies, 6 unhandled and 1 malformed, have %+v", s)
	}
}

// Error replies are rate-bound: with the clock standing still the bucket never refills, so at most
// ConnErrorReplyRate go out and every other one is dropped and counted; with 0, none goes out.
func TestErrorRepliesRateBound(t *testing.T) {
	rdb := pubsubRedis(t)
	frozen := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	service := redistest.Name("svc")
	const rate = 20
	server, err := NewConn(fleetOn(t, rdb, hydrakit.WithClock(func() time.Time { return frozen })), service, keyspace.NewInstanceID(),
		ConnErrorReplyRate(rate))
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	silent := newConn(t, rdb, service, ConnErrorReplyRate(0))
	from, replies := listen(t, rdb)
	const sent = rate + 50
	channel := keyspace.New().InstanceChannel(service, idOf(server))
	for i := range sent {
		b, _ := (&umf.Message{To: service + ":/nobody", From: from, MID: fmt.Sprint(i)}).Marshal()
		if err := rdb.Publish(context.Background(), channel, b).Err(); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "every refusal sent or dropped", func() bool {
		s := server.Stats()
		return s.ErrorReplies+s.ErrorRepliesDropped == sent
	})
	s := server.Stats()
	if s.ErrorReplies > rate || s.ErrorRepliesDropped < sent-rate {
		t.Errorf("want at most %d error replies, have %+v", rate, s)
	}
	for range s.ErrorReplies {
		nextReply(t, replies)
	}

	b, _ := (&umf.Message{To: service + ":/nobody", From: from, MID: "m"}).Marshal()
	if err := rdb.Publish(context.Background(), keyspace.New().InstanceChannel(service, idOf(silent)), b).Err(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the refusal dropped", func() bool { return silent.Stats().ErrorRepliesDropped == 1 })
	if s := silent.Stats(); s.ErrorReplies != 0 {
		t.Errorf("ConnErrorReplyRate(0): want no error reply, have %+v", s)
	}
}
