package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/queue"
	"github.com/hydrakit/hydrakit/umf"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// received returns the messages waiting in service's queue.
func received(t *testing.T, c *hydrakit.Client, service string) []*umf.Message {
	t.Helper()
	raws, err := c.Redis().LRange(context.Background(), c.Keyspace().QueueReceived(service), 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	var ms []*umf.Message
	for _, raw := range raws {
		m, err := umf.Unmarshal([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	return ms
}

// -secret a,b (or HYDRAKIT_SECRET) signs what -produce enqueues with a, the first secret.
func TestProduceSigns(t *testing.T) {
	srv := redistest.Start(t)
	c := redistest.Fleet(t, srv.Client(t))
	url := srv.URL() + "/0"
	if err := run(context.Background(), []string{"-redis", url, "-name", "flag", "-produce", "2", "-secret", "new,old"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HYDRAKIT_SECRET", "from env")
	if err := run(context.Background(), []string{"-redis", url, "-name", "env", "-produce", "1"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	for service, secret := range map[string]string{"flag": "new", "env": "from env"} {
		ms := received(t, c, service)
		if len(ms) == 0 {
			t.Fatalf("%s: nothing enqueued", service)
		}
		for _, m := range ms {
			if err := umf.Verify(m, []byte(secret)); err != nil {
				t.Errorf("%s: %v", service, err)
			}
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the worker's logger and the test at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// With -require-signatures the worker handles signed messages and dead-letters unsigned ones; it
// refuses to start with -require-signatures but no secret.
func TestConsumeRequiresSignatures(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	url := srv.URL() + "/0"
	const svc = "signed"
	if err := run(context.Background(), []string{"-redis", url, "-name", svc, "-produce", "1", "-secret", "s"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	signed := received(t, redistest.Fleet(t, rdb), svc)[0]
	unsigned, err := umf.New(svc+":/", "test:/", map[string]string{"signed": "no"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := queue.NewProducer(redistest.Fleet(t, rdb))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Enqueue(context.Background(), unsigned); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-redis", url, "-name", svc, "-secret", "s", "-require-signatures"}, out)
	}()
	in, err := queue.NewInspector(redistest.Fleet(t, rdb))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "msg=handled mid="+signed.MID) || stats(t, in, svc).Incomplete != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("worker did not handle the signed message and refuse the other:\n%s", out)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	items, err := in.Incomplete(context.Background(), svc, 0, 1)
	if err != nil || items[0].Message.MID != unsigned.MID || items[0].Reason != "rejected: unsigned" {
		t.Fatalf("dead letters %+v %v", items, err)
	}

	err = run(context.Background(), []string{"-redis", url, "-name", svc, "-require-signatures"}, io.Discard)
	if !errors.Is(err, hydrakit.ErrConfig) {
		t.Fatalf("-require-signatures without a secret: %v", err)
	}
}

func stats(t *testing.T, in *queue.Inspector, service string) queue.Stats {
	t.Helper()
	s, err := in.Stats(context.Background(), service)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
