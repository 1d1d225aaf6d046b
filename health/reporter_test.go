package health

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
)

const testInstance = "0123456789abcdef0123456789abcdef"

func TestReporterWritesNodeSnapshot(t *testing.T) {
	m, client := redistest.Mini(t)
	ctx := context.Background()
	logKey := keyspace.Default.HealthLog("orders", testInstance)
	client.LPush(ctx, logKey, "old entry")
	clock := func() time.Time { return time.Date(2026, 5, 6, 7, 8, 9, 10_000_000, time.UTC) }
	checks := NewChecker()
	_ = checks.Register("db", fail, CheckOptional())
	r, err := NewReporter(client, "Orders", testInstance, ReporterClock(clock), ReporterChecker(checks))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Report(ctx); err != nil {
		t.Fatal(err)
	}
	key := keyspace.Default.Health("orders", testInstance)
	raw, err := client.Get(ctx, key).Bytes()
	if err != nil {
		t.Fatal(err)
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
}

func TestReporterOptions(t *testing.T) {
	_, client := redistest.Mini(t)
	for _, tc := range []struct {
		name    string
		service string
		opts    []ReporterOption
		want    error
	}{
		{"ttl equal to interval", "svc", []ReporterOption{ReporterInterval(5 * time.Second), ReporterTTL(5 * time.Second)}, ErrInvalidOption},
		{"node's 3s ttl with 5s interval", "svc", []ReporterOption{ReporterTTL(3 * time.Second)}, ErrInvalidOption},
		{"zero interval", "svc", []ReporterOption{ReporterInterval(0)}, ErrInvalidOption},
		{"bad service", "a:b", nil, keyspace.ErrInvalidName},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewReporter(client, tc.service, testInstance, tc.opts...); !errors.Is(err, tc.want) {
				t.Errorf("want %v, have %v", tc.want, err)
			}
		})
	}
	if _, err := NewReporter(client, "svc", "bad-id"); !errors.Is(err, keyspace.ErrInvalidName) {
		t.Errorf("instance: want ErrInvalidName, have %v", err)
	}
}

// Node writes every 5 s with a 3 s TTL, so its key is missing 40% of the time. Ours is there from the
// first write until Stop, polled far more often than the reporter writes.
func TestReporterNoTTLGap(t *testing.T) {
	client := redistest.Client(t)
	ctx := context.Background()
	svc := redistest.Name("gap")
	key := keyspace.Default.Health(svc, testInstance)
	const interval = 100 * time.Millisecond
	r, err := NewReporter(client, svc, testInstance, ReporterInterval(interval), ReporterTTL(5*interval))
	if err != nil {
		t.Fatal(err)
	}
	r.Start()
	deadline := time.Now().Add(5 * time.Second)
	for client.Exists(ctx, key).Val() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no first snapshot")
		}
		time.Sleep(time.Millisecond)
	}
	var samples, missing int
	for end := time.Now().Add(15 * interval); time.Now().Before(end); samples++ {
		if client.Exists(ctx, key).Val() == 0 {
			missing++
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
	if missing != 0 {
		t.Errorf("health key missing in %d of %d samples", missing, samples)
	}
	if ttl := client.PTTL(ctx, key).Val(); ttl <= 0 || ttl > 3*time.Second {
		t.Errorf("after Stop the key must expire within 3 s like Node's; TTL %v", ttl)
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

// Redis goes away while reporting: the failure is logged, Stop still returns promptly, and the
// snapshot is back once Redis is.
func TestReporterRedisOutage(t *testing.T) {
	srv := redistest.Start(t)
	client := srv.Client(t)
	ctx := context.Background()
	logs := &syncLogger{}
	checks := NewChecker(CheckerTimeout(200 * time.Millisecond))
	_ = checks.Register("redis", RedisCheck(client))
	r, err := NewReporter(client, "outage", testInstance, ReporterInterval(50*time.Millisecond),
		ReporterLogger(logs), ReporterChecker(checks))
	if err != nil {
		t.Fatal(err)
	}
	r.Start()
	key := keyspace.Default.Health("outage", testInstance)
	waitFor(t, "first snapshot", func() bool { return client.Exists(ctx, key).Val() == 1 })
	srv.Kill(t)
	waitFor(t, "a logged failure", func() bool { return bytes.Contains([]byte(logs.String()), []byte("health report failed")) })
	if s := r.Snapshot(ctx); s.Status != StatusFailing {
		t.Errorf("with Redis down the Redis check must fail: %+v", s.Checks)
	}
	srv.Restart(t) // data gone: the reporter must write it again
	waitFor(t, "snapshot after restart", func() bool {
		raw, err := client.Get(ctx, key).Bytes()
		var s Snapshot
		return err == nil && json.Unmarshal(raw, &s) == nil && s.Status == StatusOK
	})
	if !bytes.Contains([]byte(logs.String()), []byte("instance="+testInstance)) {
		t.Errorf("logger not scoped: %s", logs)
	}
	start := time.Now()
	if err := r.Stop(); err != nil {
		t.Error(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Stop took %v", d)
	}
	if err := r.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestKeyspaceOptions(t *testing.T) {
	_, client := redistest.Mini(t)
	ctx := context.Background()
	scheme := keyspace.New(keyspace.WithPrefix("acme"), keyspace.ClusterSafe())
	r, err := NewReporter(client, "svc", testInstance, ReporterKeyspace(scheme))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Report(ctx); err != nil {
		t.Fatal(err)
	}
	rec, err := NewRecorder(client, "svc", testInstance, RecorderKeyspace(scheme))
	if err != nil {
		t.Fatal(err)
	}
	_ = rec.Log("level", "error", "msg", "x")
	_ = rec.Close()
	for _, key := range []string{"acme:{svc}:" + testInstance + ":health", "acme:{svc}:" + testInstance + ":health:log"} {
		if want, have := int64(1), client.Exists(ctx, key).Val(); want != have {
			t.Errorf("%s: want %d, have %d", key, want, have)
		}
	}
}

func TestReporterStopWithoutStart(t *testing.T) {
	m, client := redistest.Mini(t)
	r, err := NewReporter(client, "svc", testInstance)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Report(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
	r.Start() // after Stop: nothing
	if want, have := 3*time.Second, m.TTL(keyspace.Default.Health("svc", testInstance)); want != have {
		t.Errorf("want %v, have %v", want, have)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
