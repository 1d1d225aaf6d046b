package config

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/hydrakit/hydrakit/internal/redistest"
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
	s := NewStore(client)
	svc := redistest.Name("watch")
	_ = s.Put(ctx, svc, "1.0.0", map[string]int{"a": 1})
	fn, ch := collect()
	w, err := s.Watch(svc, "1.0.0", fn, WatchInterval(pollEvery))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
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
	s := NewStore(client)
	fn, ch := collect()
	w, err := s.Watch("svc", "", fn, WatchInterval(pollEvery))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
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
	s := NewStore(client)
	_ = s.Put(ctx, "svc", "1.0.0", 1)
	fn, ch := collect()
	logs := &syncLogger{}
	w, err := s.Watch("svc", "1.0.0", fn, WatchInterval(pollEvery), WatchLogger(logs))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
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
	if !strings.Contains(logs.String(), "service=svc") {
		t.Errorf("logger not scoped: %s", logs)
	}
}

func TestWatchRejects(t *testing.T) {
	_, client := redistest.Mini(t)
	s := NewStore(client)
	fn := func(Event) {}
	for _, tc := range []struct {
		service, version string
		fn               func(Event)
		opts             []WatchOption
		want             error
	}{
		{"a:b", "", fn, nil, ErrInvalidLabel},
		{"svc", "1:2", fn, nil, ErrInvalidLabel},
		{"svc", "1.0.0", nil, nil, ErrInvalidOption},
		{"svc", "1.0.0", fn, []WatchOption{WatchInterval(0)}, ErrInvalidOption},
	} {
		if w, err := s.Watch(tc.service, tc.version, tc.fn, tc.opts...); !errors.Is(err, tc.want) {
			t.Errorf("%+v: want %v, have %v", tc, tc.want, err)
			if w != nil {
				w.Stop()
			}
		}
	}
}
