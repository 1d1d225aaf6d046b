package health

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
)

func readLog(t *testing.T, client goredis.UniversalClient, service string) []Entry {
	t.Helper()
	raw, err := client.LRange(context.Background(), keyspace.New().HealthLog(service, testInstance), 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	entries := make([]Entry, len(raw))
	for i, r := range raw {
		if err := json.Unmarshal([]byte(r), &entries[i]); err != nil {
			t.Fatalf("%v: %s", err, r)
		}
	}
	return entries
}

func TestRecorderWritesHydraEntries(t *testing.T) {
	m, client := redistest.Mini(t)
	next := &syncLogger{}
	r, err := NewRecorder(redistest.Fleet(t, client, hydrakit.WithClock(fixedClock)), "Orders", testInstance, RecorderNext(next))
	if err != nil {
		t.Fatal(err)
	}
	logger := log.With(r, "ts", log.DefaultTimestampUTC)
	_ = level.Error(logger).Log("msg", "payment failed", "err", "card declined", "mid", "m-1")
	_ = level.Info(logger).Log("msg", "not recorded")
	_ = logger.Log("msg", "no level: not recorded")
	_ = logger.Log("level", "error", "err", errors.New("plain string level <&>"))
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	entries := readLog(t, client, "orders")
	if want, have := 2, len(entries); want != have {
		t.Fatalf("want %d entries, have %d: %+v", want, have, entries)
	}
	want := Entry{TS: "2026-05-06T07:08:09.010Z", ServiceName: "orders", Type: "error", ProcessID: os.Getpid(),
		Msg: "payment failed err=\"card declined\" mid=m-1"}
	if have := entries[1]; want != have { // newest first
		t.Errorf("want %+v, have %+v", want, have)
	}
	if want, have := `err="plain string level <&>"`, entries[0].Msg; want != have {
		t.Errorf("want %q, have %q", want, have)
	}
	raw := client.LIndex(context.Background(), keyspace.New().HealthLog("orders", testInstance), 0).Val()
	if !strings.HasPrefix(raw, `{"ts":"2026-05-06T07:08:09.010Z","serviceName":"orders","type":"error","processID":`) ||
		!strings.Contains(raw, "<&>") {
		t.Errorf("Node's field order and JSON.stringify escaping: %s", raw)
	}
	if want, have := 7*24*time.Hour, m.TTL(keyspace.New().HealthLog("orders", testInstance)); want != have {
		t.Errorf("expiry: want %v, have %v", want, have)
	}
	for _, s := range []string{"payment failed", "not recorded", "no level"} {
		if !strings.Contains(next.String(), s) {
			t.Errorf("next logger missed %q: %s", s, next)
		}
	}
	if want, have := (RecorderStats{Written: 2}), r.Stats(); want != have {
		t.Errorf("want %+v, have %+v", want, have)
	}
	_ = level.Error(r).Log("msg", "after close: passed on, not recorded")
	if !strings.Contains(next.String(), "after close") || len(readLog(t, client, "orders")) != 2 {
		t.Error("after Close events go to next only")
	}
}

func TestRecorderLevelsAndTrim(t *testing.T) {
	_, client := redistest.Mini(t)
	r, err := NewRecorder(redistest.Fleet(t, client), "svc", testInstance, RecorderLevels(level.WarnValue(), level.InfoValue()))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		_ = level.Warn(r).Log("msg", fmt.Sprint("w", i))
	}
	_ = level.Error(r).Log("msg", "error not chosen")
	_ = level.Info(r).Log("msg", "last")
	_ = r.Close()
	entries := readLog(t, client, "svc")
	if want, have := 64, len(entries); want != have {
		t.Fatalf("Node's LTRIM 0 63: want %d, have %d", want, have)
	}
	if entries[0].Msg != "last" || entries[0].Type != "info" || entries[1].Msg != "w99" || entries[63].Msg != "w37" {
		t.Errorf("newest first, trimmed oldest: %+v ... %+v", entries[:2], entries[63])
	}
}

// blockingHook holds every pipeline until released, so buffer overflow is exact; with err set,
// every pipeline then fails with it.
type blockingHook struct {
	entered chan struct{}
	release chan struct{}
	err     error
}

func (blockingHook) DialHook(next goredis.DialHook) goredis.DialHook          { return next }
func (blockingHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook { return next }
func (h blockingHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		select {
		case h.entered <- struct{}{}:
		default:
		}
		<-h.release
		if h.err != nil {
			return h.err
		}
		return next(ctx, cmds)
	}
}

var _ goredis.Hook = blockingHook{}

func TestRecorderOverflowAccounting(t *testing.T) {
	m, _ := redistest.Mini(t)
	client := goredis.NewClient(&goredis.Options{Addr: m.Addr()})
	defer func() { _ = client.Close() }()
	hook := blockingHook{entered: make(chan struct{}, 1), release: make(chan struct{})}
	client.AddHook(hook)
	const buffer = 8
	r, err := NewRecorder(redistest.Fleet(t, client), "svc", testInstance, func(r *Recorder) { r.buffer = buffer })
	if err != nil {
		t.Fatal(err)
	}
	_ = level.Error(r).Log("msg", "first") // taken by the writer, which then blocks in Redis
	<-hook.entered
	for i := range 50 {
		_ = level.Error(r).Log("msg", fmt.Sprint("e", i))
	}
	if want, have := uint64(50-buffer), r.Stats().Dropped; want != have {
		t.Fatalf("dropped: want %d, have %d", want, have)
	}
	close(hook.release)
	waitFor(t, "the buffer written", func() bool { return r.Stats().Written == 1+1+buffer })
	_ = level.Error(r).Log("msg", "late")
	_ = r.Close()
	entries := readLog(t, client, "svc")
	var msgs []string
	for i := len(entries) - 1; i >= 0; i-- {
		msgs = append(msgs, entries[i].Msg)
	}
	// Oldest first: the blocked entry, then the notice ahead of the next batch, then what the buffer held.
	want := []string{"first", fmt.Sprintf("flight recorder dropped %d entries (buffer full or Redis unavailable)", 50-buffer)}
	for i := range buffer {
		want = append(want, fmt.Sprint("e", i))
	}
	want = append(want, "late")
	if fmt.Sprint(want) != fmt.Sprint(msgs) {
		t.Errorf("want %q\nhave %q", want, msgs)
	}
	if entries[len(entries)-2].Type != "warn" {
		t.Errorf("notice type: %+v", entries[len(entries)-2])
	}
	if want, have := (RecorderStats{Written: uint64(len(want)), Dropped: 50 - buffer}), r.Stats(); want != have {
		t.Errorf("want %+v, have %+v", want, have)
	}
}

// Close returns the error of its last write: the entries still buffered that Redis refused.
func TestRecorderCloseReturnsFlushError(t *testing.T) {
	m, _ := redistest.Mini(t)
	client := goredis.NewClient(&goredis.Options{Addr: m.Addr()})
	defer func() { _ = client.Close() }()
	errDown := errors.New("redis down")
	hook := blockingHook{entered: make(chan struct{}, 1), release: make(chan struct{}), err: errDown}
	client.AddHook(hook)
	own := &syncLogger{}
	r, err := NewRecorder(redistest.Fleet(t, client, hydrakit.WithLogger(own)), "svc", testInstance)
	if err != nil {
		t.Fatal(err)
	}
	_ = level.Error(r).Log("msg", "first") // taken by the writer, which then blocks in Redis
	<-hook.entered
	for range 10 {
		_ = level.Error(r).Log("msg", "buffered")
	}
	go func() { <-r.stop; close(hook.release) }() // the writer fails only once Close has begun
	err = r.Close()
	if !errors.Is(err, errDown) || !strings.Contains(err.Error(), "10 entries not written at close") {
		t.Fatalf("want the flush's failure, have %v", err)
	}
	if again := r.Close(); again != err {
		t.Errorf("second Close: want %v, have %v", err, again)
	}
	if want, have := (RecorderStats{Dropped: 11}), r.Stats(); want != have {
		t.Errorf("want %+v, have %+v", want, have)
	}
	if logged := own.String(); !strings.Contains(logged, "flight recorder write failed") || strings.Count(logged, "\n") != 1 {
		t.Errorf("the failure before Close is logged, the one at Close only returned: %q", logged)
	}
}

func TestRecorderRejects(t *testing.T) {
	_, rdb := redistest.Mini(t)
	client := redistest.Fleet(t, rdb)
	for _, tc := range []struct {
		name     string
		client   *hydrakit.Client
		service  string
		instance string
		opts     []RecorderOption
		want     []error
	}{
		{"nil client", nil, "svc", testInstance, nil, []error{ErrConfig}},
		{"no levels", client, "svc", testInstance, []RecorderOption{RecorderLevels()}, []error{ErrConfig}},
		{"nil level", client, "svc", testInstance, []RecorderOption{RecorderLevels(level.ErrorValue(), nil)}, []error{ErrConfig}},
		{"nil next", client, "svc", testInstance, []RecorderOption{RecorderNext(nil)}, []error{ErrConfig}},
		{"nil option", client, "svc", testInstance, []RecorderOption{nil}, []error{ErrConfig}},
		{"bad service", client, "", testInstance, nil, []error{ErrConfig, keyspace.ErrInvalidName}},
		{"bad instance", client, "svc", "x:y", nil, []error{ErrConfig, keyspace.ErrInvalidName}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewRecorder(tc.client, tc.service, tc.instance, tc.opts...)
			if r != nil {
				_ = r.Close()
				t.Fatal("a Recorder despite an invalid configuration")
			}
			for _, want := range tc.want {
				if !errors.Is(err, want) {
					t.Errorf("want %v, have %v", want, err)
				}
			}
		})
	}
}

func TestMessage(t *testing.T) {
	for _, tc := range []struct {
		keyvals []interface{}
		want    string
	}{
		{[]interface{}{"msg", "hello"}, "hello"},
		{[]interface{}{"level", level.ErrorValue(), "msg", "a", "queue", "q"}, "a queue=q"},
		{[]interface{}{"ts", "x", "err", "boom"}, "err=boom"},
		{[]interface{}{"msg", 42, "odd"}, "42 odd=(MISSING)"},
		{[]interface{}{"msg", "first", "msg", "second"}, "first msg=second"},
	} {
		if have := message(tc.keyvals); tc.want != have {
			t.Errorf("%v: want %q, have %q", tc.keyvals, tc.want, have)
		}
	}
}
