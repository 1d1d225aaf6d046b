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
	t.Cleanup(func() {
		if con.hand != nil {
			for _, tick := range con.hand.tick {
				if tick != nil {
					close(tick) // time is up for every wait a test held: Close cannot hang on one
				}
			}
		}
		_ = con.Close()
	})
	return con
}

// patience bounds every wait of a test for something that must happen. It is far beyond what even a
// saturated machine needs: it only turns a hang into a failure, and never decides a test's outcome.
const patience = 30 * time.Second

// eventually polls cond, for states that announce themselves nowhere (lists in Redis), until it holds
// or patience runs out.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	if !poll(cond) {
		t.Fatalf("gave up after %v waiting for %s", patience, what)
	}
}

// poll reports whether cond held within patience, checking every 10 ms.
func poll(cond func() bool) bool {
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// receive waits for a value on ch.
func receive[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(patience):
		t.Fatalf("gave up after %v waiting for %s", patience, what)
		panic("unreachable")
	}
}

// closing runs con.Close in the background, for a test that drives Close's waits.
func closing(con *Consumer) <-chan error {
	done := make(chan error, 1)
	go func() { done <- con.Close() }()
	return done
}

// driver holds the waits a test took over from a consumer (pace.go): their time passes only when
// the test says so.
type driver struct {
	t      testing.TB
	h      *hand
	primed [numWaits]bool // the loop's first "waiting" has been taken
}

// drive takes the waits ws over; the option hands them to the consumer.
func drive(t testing.TB, ws ...wait) (*driver, ConsumerOption) {
	d := &driver{t: t, h: &hand{}}
	for _, w := range ws {
		d.h.tick[w], d.h.ready[w] = make(chan time.Time), make(chan struct{})
	}
	return d, func(c *Consumer) { c.hand = d.h }
}

// pass lets the loop waiting at w (waitRecover, waitHeartbeat, waitSchedule) run exactly one pass and
// returns once that pass is over. The scheduler's first pass, which runs at start without waiting, is
// over before the first pass begins.
func (d *driver) pass(w wait) {
	d.t.Helper()
	if !d.primed[w] {
		receive(d.t, d.h.ready[w], "the loop to wait")
		d.primed[w] = true
	}
	d.fire(w)
	receive(d.t, d.h.ready[w], "the loop's pass to end")
}

// fire ends the wait at w once: for Close's waits, their time is up.
func (d *driver) fire(w wait) {
	d.t.Helper()
	select {
	case d.h.tick[w] <- time.Time{}:
	case <-time.After(patience):
		d.t.Fatalf("gave up after %v waiting for the pool to wait at %d", patience, w)
	}
}

// clock is a settable clock for hydrakit.WithClock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
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
