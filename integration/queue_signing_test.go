package integration

import (
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/queue"
	"github.com/hydrakit/hydrakit/umf"
)

const queueSecret = "queue s3cret ✓"

// nodeQueueOp runs one operation of integration/node/queue-signing.js with the real Node Hydra, as
// service on the Redis at redisURL, and returns its result.
func nodeQueueOp(t *testing.T, redisURL, service, op string, args map[string]any) json.RawMessage {
	t.Helper()
	dir := requireNode(t)
	req := map[string]any{"redisURL": redisURL, "service": service, "op": op}
	for k, v := range args {
		req[k] = v
	}
	line, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(dir, "queue-signing.js"), string(line))
	cmd.Dir = dir
	out, err := cmd.Output()
	var answer struct {
		Result json.RawMessage `json:"result"`
		Error  string          `json:"error"`
	}
	if jerr := json.Unmarshal(out, &answer); jerr != nil || answer.Error != "" {
		t.Fatalf("node %s: %v %s %s", op, err, answer.Error, out)
	}
	return answer.Result
}

// waitIncomplete waits until svc's incomplete list holds n items and returns them.
func waitIncomplete(t *testing.T, c *hydrakit.Client, svc string, n int64) []string {
	t.Helper()
	key := c.Keyspace().QueueIncomplete(svc)
	deadline := time.Now().Add(10 * time.Second)
	for c.Redis().LLen(context.Background(), key).Val() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%s: fewer than %d dead letters after 10 s", svc, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return c.Redis().LRange(context.Background(), key, 0, -1).Val()
}

// Node signs with signMessage('sha256', secret) and queues: a Go consumer requiring signatures
// handles those messages, and dead-letters an unsigned one unhandled, byte for byte as Node's
// markQueueMessage(msg, false, reason) writes it.
func TestQueueSigningNodeProducerGoConsumer(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	const svc = "qsignednode"
	url := srv.URL() + "/0"
	ctx := context.Background()
	msg := func(mid string) map[string]any {
		return map[string]any{"to": svc + ":/job", "frm": "nodeprod:/", "mid": mid, "bdy": json.RawMessage(trickyBodies["integer-keys"])}
	}
	nodeQueueOp(t, url, "nodeprod", "produce", map[string]any{"secret": queueSecret,
		"messages": []any{msg("signed-1"), msg("signed-2")}})
	nodeQueueOp(t, url, "nodeprod", "produce", map[string]any{"messages": []any{msg("unsigned")}})
	received := rdb.LRange(ctx, "hydra:service:"+svc+":mqrecieved", 0, -1).Val()

	c := redistest.Fleet(t, rdb, hydrakit.WithSigning(queueSecret), hydrakit.WithRequiredSignatures())
	got := make(chan string, 3)
	con, err := queue.NewConsumer(c, svc, queue.HandlerFunc(func(_ context.Context, d *queue.Delivery) error {
		got <- d.Message.MID
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	goDead := waitIncomplete(t, c, svc, 1)
	handled := map[string]bool{}
	for range 2 {
		select {
		case mid := <-got:
			handled[mid] = true
		case <-time.After(10 * time.Second):
			t.Fatal("signed Node message not handled")
		}
	}
	if err := con.Close(); err != nil {
		t.Fatal(err)
	}
	if !handled["signed-1"] || !handled["signed-2"] || len(got) != 0 {
		t.Fatalf("handled %v, then %d more", handled, len(got))
	}
	if want, have := (queue.ConsumerStats{Rejected: 1}), con.Stats(); want != have {
		t.Fatalf("want %+v, have %+v", want, have)
	}

	// Node dead-letters the same unsigned message with the same reason.
	var unsigned string
	for _, raw := range received {
		if m, err := umf.Unmarshal([]byte(raw)); err == nil && m.MID == "unsigned" {
			unsigned = raw
		}
	}
	mustQueue(t, rdb.Del(ctx, c.Keyspace().QueueIncomplete(svc)).Err())
	mustQueue(t, rdb.LPush(ctx, c.Keyspace().QueueReceived(svc), unsigned).Err())
	nodeQueueOp(t, url, svc, "deadLetter", map[string]any{"reason": "rejected: unsigned"})
	nodeDead := waitIncomplete(t, c, svc, 1)
	if goDead[0] != nodeDead[0] {
		t.Errorf("Go dead letter\n%s\nNode dead letter\n%s", goDead[0], nodeDead[0])
	}
}

// A Go Producer with signing on queues messages a Node consumer takes and completes (Node ignores
// sig), and Node's own signMessage gives the signature each one carries.
func TestQueueSigningGoProducerNodeConsumer(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	const svc = "qsignedgo"
	c := redistest.Fleet(t, rdb, hydrakit.WithSigning(queueSecret))
	p, err := queue.NewProducer(c)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	n := 0
	for _, body := range trickyBodies {
		if err := p.Enqueue(ctx, queueMessage(t, svc, body)); err != nil {
			t.Fatal(err)
		}
		n++
	}
	var taken []struct {
		MID   string `json:"mid"`
		Sig   string `json:"sig"`
		Valid bool   `json:"valid"`
	}
	raw := nodeQueueOp(t, srv.URL()+"/0", svc, "consume", map[string]any{"count": n + 1, "secret": queueSecret})
	if err := json.Unmarshal(raw, &taken); err != nil {
		t.Fatal(err)
	}
	if len(taken) != n {
		t.Fatalf("Node took %d of %d messages: %s", len(taken), n, raw)
	}
	for _, m := range taken {
		if m.Sig == "" || !m.Valid {
			t.Errorf("%s: signature %q not Node's", m.MID, m.Sig)
		}
	}
	if s := queueStats(t, rdb, svc); s.Received+s.InProgress != 0 {
		t.Fatalf("Node left the queue at %+v", s)
	}
}

// After retries a Go dead letter is byte for byte what Node's markQueueMessage(msg, false, reason)
// writes for the same message: the attempt count stays in hydrakit's keys. With and without signing.
func TestQueueDeadLetterAfterRetriesMatchesNode(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	ctx := context.Background()
	for name, options := range map[string][]hydrakit.Option{
		"plain":  nil,
		"signed": {hydrakit.WithSigning(queueSecret), hydrakit.WithRequiredSignatures()},
	} {
		t.Run(name, func(t *testing.T) {
			svc := "qretried" + name
			c := redistest.Fleet(t, rdb, options...)
			p, err := queue.NewProducer(c)
			if err != nil {
				t.Fatal(err)
			}
			m := queueMessage(t, svc, trickyBodies["nested"])
			mustQueue(t, p.Enqueue(ctx, m))
			nodeQueueOp(t, srv.URL()+"/0", svc, "deadLetter", map[string]any{"reason": "boom <&> ✗"})
			nodeDead := waitIncomplete(t, c, svc, 1)
			mustQueue(t, rdb.Del(ctx, c.Keyspace().QueueIncomplete(svc)).Err())

			mustQueue(t, p.Enqueue(ctx, m))
			con, err := queue.NewConsumer(c, svc, queue.HandlerFunc(func(context.Context, *queue.Delivery) error {
				return errors.New("boom <&> ✗")
			}), queue.ConsumerMaxAttempts(3), queue.ConsumerBackoff(func(int) time.Duration { return time.Millisecond }))
			if err != nil {
				t.Fatal(err)
			}
			goDead := waitIncomplete(t, c, svc, 1)
			if err := con.Close(); err != nil {
				t.Fatal(err)
			}
			if goDead[0] != nodeDead[0] {
				t.Errorf("Go dead letter after 3 attempts\n%s\nNode dead letter\n%s", goDead[0], nodeDead[0])
			}
		})
	}
}

func mustQueue(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
