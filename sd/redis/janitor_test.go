package redis

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
)

func TestJanitorRemovesOnlyLongDeadEntries(t *testing.T) {
	m, c := redistest.Mini(t)
	now := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	entry := func(svc, id string, age time.Duration) {
		m.HSet("hydra:service:nodes", id, `{"serviceName":"`+svc+`","instanceID":"`+id+`","updatedOn":"`+now.Add(-age).Format(timeLayout)+`"}`)
	}
	entry("svc", "dead", 2*time.Minute)    // old, no presence: removed
	entry("svc", "paused", 2*time.Minute)  // old entry but presence exists: kept
	entry("svc", "recent", 30*time.Second) // no presence, within grace: kept
	entry("other", "gone", 5*time.Minute)  // another service: removed too
	m.HSet("hydra:service:nodes", "junk", `{"broken"`)
	check(t, m.Set("hydra:service:svc:paused:presence", "paused"))
	_, _ = m.SAdd(indexKey(keyspace.New(), "svc"), "dead", "paused", "orphan")
	_, _ = m.SAdd(indexKey(keyspace.New(), "other"), "gone")

	j := &janitor{client: c, keys: keyspace.New(), owner: "me", grace: time.Minute, now: func() time.Time { return now }, logger: log.NewNopLogger()}
	removed, err := j.sweep(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want, have := 2, removed; want != have {
		t.Errorf("removed: want %d, have %d", want, have)
	}
	keys, _ := m.HKeys("hydra:service:nodes")
	if want, have := "[junk paused recent]", sortedString(keys); want != have {
		t.Errorf("nodes: want %s, have %s", want, have)
	}
	members, _ := m.Members(indexKey(keyspace.New(), "svc"))
	if want, have := "[paused]", sortedString(members); want != have {
		t.Errorf("index: want %s, have %s", want, have)
	}
	if m.Exists(indexKey(keyspace.New(), "other")) {
		t.Error("index of other not emptied")
	}

	// Another janitor in the same period finds the lock taken and does nothing.
	entry("svc", "dead2", 2*time.Minute)
	second := *j
	second.owner = "someone else"
	if removed, err := second.sweep(t.Context()); err != nil || removed != 0 {
		t.Errorf("second janitor: removed %d, err %v", removed, err)
	}
	if want, have := "me", must(m.Get(janitorLock(keyspace.New()))); want != have {
		t.Errorf("lock holder: want %q, have %q", want, have)
	}
	m.FastForward(j.period()) // the lock expires: the next period's janitor acts
	if removed, err := second.sweep(t.Context()); err != nil || removed != 1 {
		t.Errorf("next period: removed %d, err %v", removed, err)
	}
}

// The janitor runs inside a Registrar, on the Registrar's clock, and reports a dead instance's removal.
func TestRegistrarRunsJanitor(t *testing.T) {
	m, c := redistest.Mini(t)
	now := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	m.HSet("hydra:service:nodes", "dead", `{"serviceName":"svc","instanceID":"dead","updatedOn":"2026-11-25T17:00:00.000Z"}`)
	logger, lines := logEvents()
	r, err := NewRegistrar(redistest.Fleet(t, c, hydrakit.WithClock(func() time.Time { return now })), Service{Name: "svc"}, logger,
		RegistrarJanitorGrace(MinJanitorGrace))
	if err != nil {
		t.Fatal(err)
	}
	ticks := make(chan time.Time)
	r.janitorTicks = ticks // the period (grace/2, 5 s) is TestJanitorRemovesOnlyLongDeadEntries's business
	r.Register()
	t.Cleanup(r.Deregister)
	select {
	case ticks <- now:
	case <-time.After(failAfter):
		t.Fatal("no janitor runs")
	}
	waitLog(t, lines, "janitor removed dead nodes entries")
	if m.HGet("hydra:service:nodes", "dead") != "" {
		t.Error("the dead entry is still there")
	}
}

func sortedString(s []string) string { return fmt.Sprint(slices.Sorted(slices.Values(s))) }
