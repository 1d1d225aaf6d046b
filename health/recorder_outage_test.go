package health

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log/level"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
)

// With Redis dead, entries lost meanwhile are counted, and once Redis is back the next write says how
// many. (That Log never waits for Redis, TestRecorderOverflowAccounting shows with a writer held in
// Redis for as long as the test likes.)
func TestRecorderRedisDown(t *testing.T) {
	srv := redistest.Start(t)
	client := srv.Client(t)
	own := &syncLogger{}
	small := func(r *Recorder) { r.buffer, r.timeout = 4, time.Second }
	r, err := NewRecorder(redistest.Fleet(t, client, hydrakit.WithLogger(own)), "svc", testInstance, small)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Close() }()
	srv.Kill(t)
	const outage = 200
	for i := range outage {
		_ = level.Error(r).Log("msg", fmt.Sprint("down", i))
	}
	waitFor(t, "a failed write", func() bool { return strings.Contains(own.String(), "flight recorder write failed") })
	srv.Restart(t)
	_ = level.Error(r).Log("msg", "back")
	var entries []Entry
	waitFor(t, "the entry after recovery", func() bool {
		raw, _ := client.LRange(context.Background(), keyspace.New().HealthLog("svc", testInstance), 0, -1).Result()
		if len(raw) == 0 || !strings.Contains(raw[0], `"msg":"back"`) {
			return false
		}
		entries = readLog(t, client, "svc")
		return true
	})
	var reported, survived int
	for _, e := range entries {
		if n, err := fmt.Sscanf(e.Msg, "flight recorder dropped %d entries", &reported); n == 1 && err == nil {
			continue
		}
		if strings.HasPrefix(e.Msg, "down") {
			survived++
		}
	}
	if reported == 0 || reported+survived != outage {
		t.Errorf("every outage entry is written or reported dropped: %d reported + %d written != %d (%+v)",
			reported, survived, outage, entries)
	}
	if want, have := uint64(reported), r.Stats().Dropped; want != have {
		t.Errorf("dropped: want %d, have %d", want, have)
	}
}

// Close with Redis unreachable (a server that never answers) gives up after one write timeout instead
// of hanging.
func TestRecorderCloseRedisDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0") // accepts connections, never answers
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	client := goredis.NewClient(&goredis.Options{Addr: l.Addr().String(), MaxRetries: -1, ContextTimeoutEnabled: true})
	defer func() { _ = client.Close() }()
	r, err := NewRecorder(redistest.Fleet(t, client), "svc", testInstance, func(r *Recorder) { r.timeout = 100 * time.Millisecond })
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		_ = level.Error(r).Log("msg", "x")
	}
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		_ = r.Close() // nil when the writer took every entry before Close: nothing was left to flush
	}()
	select {
	case <-closed:
	case <-time.After(failAfter):
		t.Fatal("Close hangs with Redis unreachable")
	}
	if s := r.Stats(); s.Written != 0 || s.Dropped != 10 {
		t.Errorf("stats %+v", s)
	}
}
