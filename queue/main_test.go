package queue

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"
	"go.uber.org/goleak"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/umf"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fast are options that make a consumer react in milliseconds, for tests.
func fast(extra ...ConsumerOption) []ConsumerOption {
	return append([]ConsumerOption{
		ConsumerWorkers(4), timing(time.Second, 50*time.Millisecond, 20*time.Millisecond),
		ConsumerBackoff(func(int) time.Duration { return 10 * time.Millisecond }),
	}, extra...)
}

// timing sets the intervals that are constants outside tests.
func timing(block, recover, schedule time.Duration) ConsumerOption {
	return func(c *Consumer) { c.blockTimeout, c.recoverEvery, c.schedulerEvery = block, recover, schedule }
}

// realFleet is a client on a real Redis, closed at the test's end.
func realFleet(t testing.TB, options ...hydrakit.Option) *hydrakit.Client {
	t.Helper()
	return redistest.Fleet(t, redistest.Client(t), options...)
}

// miniFleet is a client on miniredis, closed at the test's end.
func miniFleet(t testing.TB) *hydrakit.Client {
	t.Helper()
	_, rdb := redistest.Mini(t)
	return redistest.Fleet(t, rdb)
}

func newMessage(t testing.TB, service string, body any) *umf.Message {
	t.Helper()
	m, err := umf.New(service+":/work", "tester:/", body)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func producer(t testing.TB, c *hydrakit.Client) *Producer {
	t.Helper()
	p, err := NewProducer(c)
	must(t, err)
	return p
}

func inspector(t testing.TB, c *hydrakit.Client) *Inspector {
	t.Helper()
	i, err := NewInspector(c)
	must(t, err)
	return i
}

func enqueueN(t testing.TB, c *hydrakit.Client, service string, n int) []*umf.Message {
	t.Helper()
	ms := make([]*umf.Message, n)
	for i := range ms {
		ms[i] = newMessage(t, service, map[string]any{"n": i})
	}
	must(t, producer(t, c).Enqueue(context.Background(), ms...))
	return ms
}

// startConsumer starts a consumer that is closed at the test's end.
func startConsumer(t testing.TB, c *hydrakit.Client, service string, h Handler, options ...ConsumerOption) *Consumer {
	t.Helper()
	con, err := NewConsumer(c, service, h, options...)
	must(t, err)
	t.Cleanup(func() { _ = con.Close() })
	return con
}

// eventually polls cond every 10 ms until it holds or timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func stats(t testing.TB, c *hydrakit.Client, service string) Stats {
	t.Helper()
	s, err := inspector(t, c).Stats(context.Background(), service)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// drained reports whether every list and set of the queue is empty but incomplete.
func drained(t testing.TB, c *hydrakit.Client, service string) bool {
	s := stats(t, c, service)
	return s.Received == 0 && s.InProgress == 0 && s.Leased == 0 && s.Delayed == 0
}

// seen records the mids a handler saw, and how often.
type seen struct {
	mu    sync.Mutex
	count map[string]int
}

func newSeen() *seen { return &seen{count: map[string]int{}} }

func (s *seen) add(mid string) {
	s.mu.Lock()
	s.count[mid]++
	s.mu.Unlock()
}

func (s *seen) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.count)
}

func (s *seen) get(mid string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count[mid]
}

func service() string { return redistest.Name("queue") }

// testify's require pulls in a yaml module missing from go.sum, so the checks are hand-written.

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func equal[T any](t testing.TB, want, have T) {
	t.Helper()
	if !reflect.DeepEqual(want, have) {
		t.Fatalf("want %#v, have %#v", want, have)
	}
}

func isErr(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("want error wrapping %v, have %v", target, err)
	}
}

// testLogger logs through t.Log, shown only for failed tests (or -v).
func testLogger(t testing.TB) log.Logger { return log.NewLogfmtLogger(testWriter{t}) }

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
