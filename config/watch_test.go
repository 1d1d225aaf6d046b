package config

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
)

const pollEvery = 20 * time.Millisecond

func collect() (func(Event), <-chan Event) {
	ch := make(chan Event, 100)
	return func(e Event) { ch <- e }, ch
}

func next(t *testing.T, ch <-chan Event) Event {
	t.Helper()
	select {
	case e := <-ch:
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
		return Event{}
	}
}

// quiet asserts that no event arrives during several polls.
func quiet(t *testing.T, ch <-chan Event) {
	t.Helper()
	select {
	case e := <-ch:
		t.Fatalf("unexpected event %+v", e)
	case <-time.After(10 * pollEvery):
	}
}

func TestWatchVersion(t *testing.T) {
	client := redistest.Client(t)
	ctx := context.Background()
	s := newStore(t, client)
	svc := redistest.Name("watch")
	_ = s.Put(ctx, svc, "1.0.0", map[string]int{"a": 1})
	fn, ch := collect()
	w, err := s.Watch(svc, "1.0.0", fn, WatchInterval(pollEvery))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = w.Close() }()
	select { // the current document is delivered before Watch returns
	case e := <-ch:
		if e.Version != "1.0.0" || string(e.Doc) != `{"a":1}` || e.Removed || e.Service != svc {
			t.Errorf("initial: %+v", e)
		}
	default:
		t.Fatal("no initial event from Watch itself")
	}
	_ = s.Put(ctx, svc, "1.0.0", map[string]int{"a": 1}) // same bytes again
	_ = s.Put(ctx, svc, "2.0.0", map[string]int{"a": 9}) // another version
	quiet(t, ch)
	_ = s.Put(ctx, svc, "1.0.0", map[string]int{"a": 2})
	if e := next(t, ch); string(e.Doc) != `{"a":2}` {
		t.Errorf("change: %+v", e)
	}
	_ = s.Remove(ctx, svc, "1.0.0")
	if e := next(t, ch); !e.Removed || e.Version != "1.0.0" || e.Doc != nil {
		t.Errorf("removal: %+v", e)
	}
	quiet(t, ch)
	_ = s.Put(ctx, svc, "1.0.0", map[string]int{"a": 2}) // back, even with the old content
	if e := next(t, ch); string(e.Doc) != `{"a":2}` || e.Removed {
		t.Errorf("re-added: %+v", e)
	}
}

func TestWatchLatest(t *testing.T) {
	_, client := redistest.Mini(t)
	ctx := context.Background()
	s := newStore(t, client)
	fn, ch := collect()
	w, err := s.Watch("svc", "", fn, WatchInterval(pollEvery))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = w.Close() }()
	quiet(t, ch) // nothing stored yet
	_ = s.Put(ctx, "svc", "1.9.0", map[string]string{"v": "1.9"})
	if e := next(t, ch); e.Version != "1.9.0" {
		t.Errorf("first: %+v", e)
	}
	_ = s.Put(ctx, "svc", "1.10.0", map[string]string{"v": "1.9"}) // same content, newer version
	if e := next(t, ch); e.Version != "1.10.0" || string(e.Doc) != `{"v":"1.9"}` {
		t.Errorf("newer version: %+v", e)
	}
	_ = s.Put(ctx, "svc", "staging", 1) // not a version: never the latest over 1.10.0
	_ = s.Put(ctx, "svc", "1.2.0", 1)
	quiet(t, ch)
	_ = s.Remove(ctx, "svc", "1.10.0")
	if e := next(t, ch); e.Version != "1.9.0" {
		t.Errorf("back to the previous latest: %+v", e)
	}
	client.Del(ctx, "hydra:service:svc:configs")
	if e := next(t, ch); !e.Removed || e.Version != "1.9.0" {
		t.Errorf("all gone: %+v", e)
	}
}

type syncLogger struct {
	mu    sync.Mutex
	lines []string
}

func (l *syncLogger) Log(keyvals ...interface{}) error {
	var b strings.Builder
	_ = log.NewLogfmtLogger(&b).Log(keyvals...)
	l.mu.Lock()
	l.lines = append(l.lines, b.String())
	l.mu.Unlock()
	return nil
}

func (l *syncLogger) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "")
}

// While Redis is down the watcher logs and sends nothing; afterwards it picks up what changed.
func TestWatchRedisOutage(t *testing.T) {
	srv := redistest.Start(t, redistest.AppendOnly())
	client := srv.Client(t)
	ctx := context.Background()
	logs := &syncLogger{}
	s := newStore(t, client, hydrakit.WithLogger(logs))
	_ = s.Put(ctx, "svc", "1.0.0", 1)
	fn, ch := collect()
	w, err := s.Watch("svc", "1.0.0", fn, WatchInterval(pollEvery))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = w.Close() }()
	next(t, ch)
	srv.Kill(t)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "config watch poll failed") {
		if time.Now().After(deadline) {
			t.Fatal("no poll failure logged")
		}
		time.Sleep(pollEvery)
	}
	select {
	case e := <-ch:
		t.Fatalf("an outage is not a removal: %+v", e)
	default:
	}
	srv.Restart(t) // append-only: the data survives
	_ = s.Put(ctx, "svc", "1.0.0", 2)
	if e := next(t, ch); string(e.Doc) != "2" {
		t.Errorf("after the outage: %+v", e)
	}
	if !strings.Contains(logs.String(), "component=config service=svc") {
		t.Errorf("logger not scoped: %s", logs)
	}
}

func TestWatchRejects(t *testing.T) {
	_, client := redistest.Mini(t)
	s := newStore(t, client)
	fn := func(Event) {}
	for _, tc := range []struct {
		service, version string
		fn               func(Event)
		opts             []WatchOption
		want             []error
	}{
		{"a:b", "", fn, nil, []error{ErrConfig, ErrInvalidLabel, keyspace.ErrInvalidName}},
		{"a:b", "1.0.0", fn, nil, []error{ErrConfig, ErrInvalidLabel, keyspace.ErrInvalidName}},
		{"svc", "1:2", fn, nil, []error{ErrConfig, ErrInvalidLabel}},
		{"svc", "1.0.0", nil, nil, []error{ErrConfig}},
		{"svc", "1.0.0", fn, []WatchOption{WatchInterval(0)}, []error{ErrConfig}},
		{"svc", "1.0.0", fn, []WatchOption{WatchInterval(-time.Second)}, []error{ErrConfig}},
		{"svc", "1.0.0", fn, []WatchOption{nil}, []error{ErrConfig}},
	} {
		w, err := s.Watch(tc.service, tc.version, tc.fn, tc.opts...)
		if w != nil {
			_ = w.Close()
			t.Errorf("%+v: a Watcher despite an invalid configuration", tc)
		}
		for _, want := range tc.want {
			if !errors.Is(err, want) {
				t.Errorf("%q %q: want %v, have %v", tc.service, tc.version, want, err)
			}
		}
	}
}

// Close waits for the goroutine, and a second Close returns at once with the same result.
func TestWatcherCloseIdempotent(t *testing.T) {
	_, client := redistest.Mini(t)
	w, err := newStore(t, client).Watch("svc", "", func(Event) {}, WatchInterval(pollEvery))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := w.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	select {
	case <-w.done:
	default:
		t.Error("Close returned before the goroutine ended")
	}
}
