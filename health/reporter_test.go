package health

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
)

const testInstance = "0123456789abcdef0123456789abcdef"

func fixedClock() time.Time { return time.Date(2026, 5, 6, 7, 8, 9, 10_000_000, time.UTC) }

// The first snapshot is in Redis when NewReporter returns, with Node's fields and the client's clock.
func TestReporterWritesNodeSnapshot(t *testing.T) {
	m, rdb := redistest.Mini(t)
	client := redistest.Fleet(t, rdb, hydrakit.WithClock(fixedClock))
	ctx := context.Background()
	logKey := keyspace.New().HealthLog("orders", testInstance)
	rdb.LPush(ctx, logKey, "old entry")
	checks := NewChecker()
	_ = checks.Register("db", fail, CheckOptional())
	r, err := NewReporter(client, "Orders", testInstance, ReporterChecker(checks))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Close() }()
	key := keyspace.New().Health("orders", testInstance)
	raw, err := rdb.Get(ctx, key).Bytes()
	if err != nil {
		t.Fatalf("no snapshot when NewReporter returned: %v", err)
	}
	var s Snapshot
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	if s.ServiceName != "orders" || s.InstanceID != testInstance {
		t.Errorf("names: %+v", s)
	}
	if want := "2026-05-06T07:08:09.010Z"; s.UpdatedOn != want || s.SampledOn != want {
		t.Errorf("timestamps: want %q, have %q and %q", want, s.UpdatedOn, s.SampledOn)
	}
	if s.Status != StatusDegraded || len(s.Checks) != 1 || s.Checks[0].Name != "db" {
		t.Errorf("checks roll-up: %+v %+v", s.Status, s.Checks)
	}
	if want, have := 12*time.Second, m.TTL(key); want != have {
		t.Errorf("health TTL: want %v, have %v", want, have)
	}
	if want, have := 7*24*time.Hour, m.TTL(logKey); want != have {
		t.Errorf("health log expiry refresh: want %v, have %v", want, have)
	}
	reported, err := r.Report(ctx)
	if err != nil || reported.Status != StatusDegraded || reported.UpdatedOn != s.UpdatedOn {
		t.Errorf("Report: %+v %v", reported, err)
	}
}

func TestReporterRejects(t *testing.T) {
	_, rdb := redistest.Mini(t)
	client := redistest.Fleet(t, rdb)
	for _, tc := range []struct {
		name     string
		client   *hydrakit.Client
		service  string
		instance string
		opts     []ReporterOption
		want     []error
	}{
		{"nil client", nil, "svc", testInstance, nil, []error{ErrConfig}},
		{"zero interval", client, "svc", testInstance, []ReporterOption{ReporterInterval(0)}, []error{ErrConfig}},
		{"negative interval", client, "svc", testInstance, []ReporterOption{ReporterInterval(-time.Second)}, []error{ErrConfig}},
		{"nil checker", client, "svc", testInstance, []ReporterOption{ReporterChecker(nil)}, []error{ErrConfig}},
		{"nil option", client, "svc", testInstance, []ReporterOption{nil}, []error{ErrConfig}},
		{"bad service", client, "a:b", testInstance, nil, []error{ErrConfig, keyspace.ErrInvalidName}},
		{"bad instance", client, "svc", "bad-id", nil, []error{ErrConfig, keyspace.ErrInvalidName}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewReporter(tc.client, tc.service, tc.instance, tc.opts...)
			if r != nil {
				_ = r.Close()
				t.Fatal("a Reporter despite an invalid configuration")
			}
			for _, want := range tc.want {
				if !errors.Is(err, want) {
					t.Errorf("want %v, have %v", want, err)
				}
			}
		})
	}
}

// Node writes every 5 s with a 3 s TTL, so its key is missing 40% of the time. Ours outlives the
// interval to the next write, and one more: with the Redis clock moved on by an interval (a write
// due) and then by another (that write lost), the key is still there, and each write sets its whole
// TTL again. Close leaves Node's 3 s.
func TestReporterNoTTLGap(t *testing.T) {
	m, rdb := redistest.Mini(t) // its clock moves only when the test says so
	const interval = time.Hour  // no round of the Reporter's own comes in the test's way
	key := keyspace.New().Health("gap", testInstance)
	r, err := NewReporter(redistest.Fleet(t, rdb), "gap", testInstance, ReporterInterval(interval))
	if err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		for missed := range 2 {
			m.FastForward(interval)
			if !m.Exists(key) {
				t.Fatalf("round %d: the key is missing %d intervals after a write", round, missed+1)
			}
		}
		if _, err := r.Report(context.Background()); err != nil { // what a round does
			t.Fatal(err)
		}
		if ttl := m.TTL(key); ttl <= 2*interval {
			t.Fatalf("round %d: TTL %v after a write, want more than two intervals", round, ttl)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if want, have := 3*time.Second, m.TTL(key); want != have {
		t.Errorf("after Close the key must expire within 3 s like Node's; TTL %v", have)
	}
	// The bound holds for every interval, not only the one above.
	for _, d := range []time.Duration{time.Millisecond, time.Second, 5 * time.Second, time.Minute} {
		if ttl := reporterTTL(d); ttl <= 2*d {
			t.Errorf("interval %v: TTL %v does not outlive a lost write", d, ttl)
		}
	}
}

type syncLogger struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *syncLogger) Log(keyvals ...interface{}) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return log.NewLogfmtLogger(&l.buf).Log(keyvals...)
}

func (l *syncLogger) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Redis goes away while reporting: the failure goes to the client's logger, Close still returns
// promptly, and the snapshot is back once Redis is.
func TestReporterRedisOutage(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	logs := &syncLogger{}
	client := redistest.Fleet(t, rdb, hydrakit.WithLogger(logs))
	ctx := context.Background()
	checks := uncached(NewChecker())
	_ = checks.Register("redis", RedisCheck(client), CheckTimeout(200*time.Millisecond))
	r, err := NewReporter(client, "outage", testInstance, ReporterInterval(50*time.Millisecond), ReporterChecker(checks))
	if err != nil {
		t.Fatal(err)
	}
	key := keyspace.New().Health("outage", testInstance)
	if rdb.Exists(ctx, key).Val() != 1 {
		t.Fatal("no first snapshot")
	}
	srv.Kill(t)
	waitFor(t, "a logged failure", func() bool { return strings.Contains(logs.String(), "health report failed") })
	if s, err := r.Report(ctx); err == nil || s.Status != StatusFailing {
		t.Errorf("with Redis down the write and the Redis check must fail: %v %+v", err, s.Checks)
	}
	srv.Restart(t) // data gone: the reporter must write it again
	waitFor(t, "snapshot after restart", func() bool {
		raw, err := rdb.Get(ctx, key).Bytes()
		var s Snapshot
		return err == nil && json.Unmarshal(raw, &s) == nil && s.Status == StatusOK
	})
	if !strings.Contains(logs.String(), "component=health service=outage instance="+testInstance) {
		t.Errorf("logger not scoped: %s", logs)
	}
	if err := r.Close(); err != nil {
		t.Error(err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// Close returns the failure of its last write, and so does every later call.
func TestReporterCloseError(t *testing.T) {
	m, _ := redistest.Mini(t)
	rdb := goredis.NewClient(&goredis.Options{Addr: m.Addr(), MaxRetries: -1})
	defer func() { _ = rdb.Close() }()
	client := redistest.Fleet(t, rdb)
	r, err := NewReporter(client, "svc", testInstance)
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	err = r.Close()
	if err == nil || !strings.Contains(err.Error(), "expire the health key") {
		t.Fatalf("want the last write's error, have %v", err)
	}
	if again := r.Close(); again != err {
		t.Errorf("second Close: want %v, have %v", err, again)
	}
}

func TestReporterCloseLeavesNodeTTL(t *testing.T) {
	m, rdb := redistest.Mini(t)
	r, err := NewReporter(redistest.Fleet(t, rdb), "svc", testInstance)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if want, have := 3*time.Second, m.TTL(keyspace.New().Health("svc", testInstance)); want != have {
		t.Errorf("want %v, have %v", want, have)
	}
}

// Both writers use the client's keyspace.
func TestClientKeyspace(t *testing.T) {
	_, rdb := redistest.Mini(t)
	ctx := context.Background()
	scheme := keyspace.New(keyspace.WithPrefix("acme"), keyspace.ClusterSafe())
	client := redistest.Fleet(t, rdb, hydrakit.WithKeyspace(scheme))
	r, err := NewReporter(client, "svc", testInstance)
	if err != nil {
		t.Fatal(err)
	}
	_ = r.Close()
	rec, err := NewRecorder(client, "svc", testInstance)
	if err != nil {
		t.Fatal(err)
	}
	_ = rec.Log("level", "error", "msg", "x")
	_ = rec.Close()
	for _, key := range []string{"acme:{svc}:" + testInstance + ":health", "acme:{svc}:" + testInstance + ":health:log"} {
		if want, have := int64(1), rdb.Exists(ctx, key).Val(); want != have {
			t.Errorf("%s: want %d, have %d", key, want, have)
		}
	}
}

// failAfter is the longest a test waits for something that must happen: a bound on failure, never a
// timing claim (those are benchmarks: bench/health).
const failAfter = 30 * time.Second

// waitFor polls cond, for states that nothing announces, failing the test after failAfter.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(failAfter)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
