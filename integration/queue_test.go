package integration

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/queue"
	"github.com/hydrakit/hydrakit/umf"
)

// trickyBodies are bodies whose JSON a naive encoder writes differently from JavaScript.
var trickyBodies = map[string]string{
	"html":         `{"s":"<script>&amp;</script>"}`,
	"non-ascii":    `{"s":"héllo ✓ 日本語 😀"}`,
	"separators":   `{"s":"a\u2028b\u2029c","t":"\u00e9\u0000\u001f"}`,
	"floats":       `{"f":[1.5,0.1,100.0,1e21,1.0e-7,-0,123456789012345678901234567890,5e-324]}`,
	"integer-keys": `{"b":1,"10":"ten","2":"two","a":{"9":0,"-1":1,"01":2,"1":3}}`,
	"nested":       `{"x":[[1,[2,[3,[]]]],{"y":[{},{"z":null}]}],"e":"\"\\/\t"}`,
}

func queueMessage(t *testing.T, service, body string) *umf.Message {
	t.Helper()
	m, err := umf.New(service+":/job", "tester:/", nil)
	if err != nil {
		t.Fatal(err)
	}
	m.Body = json.RawMessage(body)
	return m
}

func queueStats(t *testing.T, c goredis.UniversalClient, service string) queue.Stats {
	t.Helper()
	in, err := queue.NewInspector(redistest.Fleet(t, c))
	if err != nil {
		t.Fatal(err)
	}
	s, err := in.Stats(context.Background(), service)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Node queueMessage → Go consumer completes every message, and hands the handler the body Node wrote.
func TestQueueNodeProducerGoConsumer(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	hc := redistest.Fleet(t, c)
	p := startNodePeer(t, srv.URL()+"/0", "qnodeprod")
	want := map[string]string{}
	for name, body := range trickyBodies {
		m := map[string]any{"to": "qgo:/job", "frm": "qnodeprod:/", "mid": name, "bdy": json.RawMessage(body)}
		p.MustCall("queueMessage", m)
		norm, err := umf.Normalize([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		want[name] = string(norm)
	}
	got := make(chan *queue.Delivery, len(trickyBodies))
	con, err := queue.NewConsumer(hc, "qgo", queue.HandlerFunc(func(_ context.Context, d *queue.Delivery) error {
		got <- d
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	for range trickyBodies {
		select {
		case d := <-got:
			if want, have := want[d.Message.MID], string(d.Message.Body); want != have {
				t.Errorf("%s: body %s, want %s", d.Message.MID, have, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Node-queued message not consumed")
		}
	}
	if err := con.Close(); err != nil {
		t.Fatal(err)
	}
	if s := queueStats(t, c, "qgo"); s.Received+s.InProgress+s.Leased+s.Incomplete != 0 {
		t.Fatalf("queue not empty after completion: %+v", s)
	}
}

// Go enqueue → Node getQueuedMessage + markQueueMessage(msg, true) leaves nothing in progress, for
// every tricky body: Go wrote exactly what Node's JSON.stringify(JSON.parse(raw)) gives back.
func TestQueueGoProducerNodeConsumer(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	hc := redistest.Fleet(t, c)
	const svc = "qnodecons"
	p := startNodePeer(t, srv.URL()+"/0", svc)
	prod, err := queue.NewProducer(hc)
	if err != nil {
		t.Fatal(err)
	}
	k := keyspace.New().QueueInProgress(svc)
	for name, body := range trickyBodies {
		if err := prod.Enqueue(context.Background(), queueMessage(t, svc, body)); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Op("queueTakeAndMark", map[string]any{"completed": true}); err != nil {
			t.Fatal(err)
		}
		if n := c.LLen(context.Background(), k).Val(); n != 0 {
			raw, _ := c.LIndex(context.Background(), k, 0).Result()
			t.Errorf("%s: Node could not complete the Go-queued message, in progress: %s", name, raw)
			c.Del(context.Background(), k)
		}
	}
	// The same through the public API calls a Node app makes, with the message object round-tripping.
	if err := prod.Enqueue(context.Background(), queueMessage(t, svc, trickyBodies["integer-keys"])); err != nil {
		t.Fatal(err)
	}
	msg := p.MustCall("getQueuedMessage", svc)
	p.MustCall("markQueueMessage", msg, true)
	if n := c.LLen(context.Background(), k).Val(); n != 0 {
		t.Fatalf("markQueueMessage left %d in progress", n)
	}
}

// Node markQueueMessage(msg, false, reason) items show in the Go inspector, and a Go dead letter of
// the same message is byte for byte what Node writes.
func TestQueueDeadLettersMatchNode(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	hc := redistest.Fleet(t, c)
	const svc = "qdead"
	ctx := context.Background()
	p := startNodePeer(t, srv.URL()+"/0", svc)
	prod, err := queue.NewProducer(hc)
	if err != nil {
		t.Fatal(err)
	}
	in, err := queue.NewInspector(hc)
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range trickyBodies {
		m := queueMessage(t, svc, body)
		if err := prod.Enqueue(ctx, m); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Op("queueTakeAndMark", map[string]any{"completed": false, "reason": "bad <input> ✗"}); err != nil {
			t.Fatal(err)
		}
		items, err := in.Incomplete(ctx, svc, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != 1 || items[0].Reason != "bad <input> ✗" || items[0].Message.MID != m.MID {
			t.Fatalf("%s: inspector sees %+v", name, items)
		}
		if _, err := in.Purge(ctx, svc); err != nil {
			t.Fatal(err)
		}
		nodeDead := string(items[0].Raw)

		if err := prod.Enqueue(ctx, m); err != nil {
			t.Fatal(err)
		}
		goDead := goDeadLetter(t, c, svc)
		if goDead != nodeDead {
			t.Errorf("%s: Go dead letter\n%s\nNode dead letter\n%s", name, goDead, nodeDead)
		}
	}
	if s := queueStats(t, c, svc); s.InProgress+s.Leased+s.Received != 0 {
		t.Fatalf("queue not empty: %+v", s)
	}
}

// goDeadLetter runs a Go consumer whose handler fails permanently until the message queued for svc
// is in the incomplete list, and returns the dead letter.
func goDeadLetter(t *testing.T, c goredis.UniversalClient, svc string) string {
	t.Helper()
	con, err := queue.NewConsumer(redistest.Fleet(t, c), svc, queue.HandlerFunc(func(context.Context, *queue.Delivery) error {
		return queue.Permanent(errors.New("bad <input> ✗"))
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := con.Close(); err != nil {
			t.Error(err)
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		raw, err := c.LPop(context.Background(), keyspace.New().QueueIncomplete(svc)).Result()
		if err == nil {
			return raw
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no dead letter from the Go consumer")
	return ""
}
