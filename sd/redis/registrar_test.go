package redis

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
)

func TestRegistrarWritesWhatNodeWrites(t *testing.T) {
	m, c := redistest.Mini(t)
	at := time.Date(2026, 11, 25, 18, 0, 0, 5e6, time.UTC)
	r := register(t, redistest.Fleet(t, c, hydrakit.WithClock(func() time.Time { return at })),
		Service{Name: "Svc", ID: "abc", IP: "10.0.0.1", Port: 8080, Version: "1.0.0", Type: "test", HostName: "h"})

	if want, have := `{"serviceName":"svc","type":"test","registeredOn":"2026-11-25T18:00:00.005Z"}`, must(m.Get("hydra:service:svc:service")); want != have {
		t.Errorf("service record: want %s, have %s", want, have)
	}
	if want, have := "abc", must(m.Get("hydra:service:svc:abc:presence")); want != have {
		t.Errorf("presence: want %q, have %q", want, have)
	}
	if want, have := 3*time.Second, m.TTL("hydra:service:svc:abc:presence"); want != have {
		t.Errorf("presence TTL: want %v, have %v", want, have)
	}
	entry := m.HGet("hydra:service:nodes", "abc")
	want := `{"serviceName":"svc","serviceDescription":"not specified","version":"1.0.0","instanceID":"abc",` +
		`"updatedOn":"2026-11-25T18:00:00.005Z","processID":` + strconv.Itoa(os.Getpid()) + `,"ip":"10.0.0.1","port":8080,"hostName":"h"}`
	if want != entry {
		t.Errorf("nodes entry:\nwant %s\nhave %s", want, entry)
	}
	if ok, _ := m.SIsMember(indexKey(keyspace.New(), "svc"), "abc"); !ok {
		t.Error("instance missing from the index")
	}
	r.Register() // idempotent
	r.Deregister()
	if m.Exists("hydra:service:svc:abc:presence") {
		t.Error("presence survived Deregister")
	}
	if !m.Exists("hydra:service:svc:service") || m.HGet("hydra:service:nodes", "abc") == "" {
		t.Error("Deregister removed a shared key or the nodes entry")
	}
	r.Deregister() // idempotent too
}

func TestRegistrarTypeOmittedWhenEmpty(t *testing.T) {
	m, c := redistest.Mini(t)
	register(t, redistest.Fleet(t, c), Service{Name: "svc"})
	var rec map[string]any
	if err := json.Unmarshal([]byte(must(m.Get("hydra:service:svc:service"))), &rec); err != nil {
		t.Fatal(err)
	}
	if _, ok := rec["type"]; ok {
		t.Errorf("type present: %v", rec)
	}
}

func TestRegistrarValidates(t *testing.T) {
	_, c := redistest.Mini(t)
	for _, tc := range []struct {
		name string
		svc  Service
		opts []RegistrarOption
	}{
		{"empty name", Service{}, nil},
		{"colon in name", Service{Name: "a:b"}, nil},
		{"dash in id", Service{Name: "a", ID: "x-y"}, nil},
		{"ttl too short", Service{Name: "a"}, []RegistrarOption{RegistrarTTL(2 * time.Second)}},
		{"zero interval", Service{Name: "a"}, []RegistrarOption{RegistrarRefreshInterval(0)}},
		{"grace too short", Service{Name: "a"}, []RegistrarOption{RegistrarJanitorGrace(time.Second)}},
	} {
		if _, err := NewRegistrar(redistest.Fleet(t, c), tc.svc, log.NewNopLogger(), tc.opts...); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: want ErrConfig, have %v", tc.name, err)
		}
	}
	if _, err := NewRegistrar(redistest.Fleet(t, c), Service{Name: "a"}, nil, RegistrarTTL(2100*time.Millisecond), RegistrarJanitorGrace(0)); err != nil {
		t.Errorf("valid options refused: %v", err)
	}
}

// A Redis that lost every key (restart without persistence) is repopulated by the next refresh,
// service record included.
func TestRegistrarReregistersAfterDataLoss(t *testing.T) {
	m, c := redistest.Mini(t)
	logger, lines := logEvents()
	r, err := NewRegistrar(redistest.Fleet(t, c), Service{Name: "svc", ID: "abc", IP: "h", Port: 1}, logger,
		RegistrarRefreshInterval(20*time.Millisecond), RegistrarTTL(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	r.Register()
	t.Cleanup(r.Deregister)
	m.FlushAll()
	waitLog(t, lines, "re-registered")
	if !m.Exists("hydra:service:svc:service") || !m.Exists("hydra:service:svc:abc:presence") {
		t.Error("re-registered without the service record or presence")
	}
}

// Register while Redis is unreachable keeps trying and registers once it answers.
func TestRegistrarRetriesUntilRedisAnswers(t *testing.T) {
	m, c := redistest.Mini(t)
	addr := m.Addr()
	m.Close()
	logger, lines := logEvents()
	r, err := NewRegistrar(redistest.Fleet(t, c), Service{Name: "svc", ID: "abc"}, logger,
		RegistrarRefreshInterval(20*time.Millisecond), RegistrarTTL(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	r.Register()
	t.Cleanup(r.Deregister)
	waitLog(t, lines, "register failed; retrying")
	if err := m.StartAddr(addr); err != nil {
		t.Skipf("cannot restart miniredis on %s: %v", addr, err)
	}
	waitLog(t, lines, "re-registered")
	if !m.Exists("hydra:service:svc:service") {
		t.Error("re-registered without the service record")
	}
}

func must(s string, err error) string {
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return s
}

// Each transition is logged once: registered, re-registered after data loss, deregistered.
func TestRegistrarLogsTransitions(t *testing.T) {
	m, c := redistest.Mini(t)
	logger, lines := logEvents()
	r, err := NewRegistrar(redistest.Fleet(t, c), Service{Name: "svc", ID: "abc"}, logger,
		RegistrarRefreshInterval(20*time.Millisecond), RegistrarTTL(100*time.Millisecond), RegistrarJanitorGrace(0))
	if err != nil {
		t.Fatal(err)
	}
	r.Register()
	m.FlushAll()
	var msgs []string
	for deadline := time.After(failAfter); len(msgs) == 0 || msgs[len(msgs)-1] != "re-registered"; {
		select {
		case l := <-lines:
			msgs = append(msgs, strings.TrimSuffix(l, ": "))
		case <-deadline:
			t.Fatalf("no re-registered line; have %q", msgs)
		}
	}
	r.Deregister() // every line is logged when it returns
	for done := false; !done; {
		select {
		case l := <-lines:
			msgs = append(msgs, strings.TrimSuffix(l, ": "))
		default:
			done = true
		}
	}
	if want, have := "[registered re-registered deregistered]", fmt.Sprint(msgs); want != have {
		t.Errorf("want %s, have %s", want, have)
	}
}
