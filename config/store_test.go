package config

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
)

func newStore(t *testing.T, rdb goredis.UniversalClient, options ...hydrakit.Option) *Store {
	t.Helper()
	s, err := NewStore(redistest.Fleet(t, rdb, options...))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewStoreRejectsNilClient(t *testing.T) {
	if s, err := NewStore(nil); s != nil || !errors.Is(err, ErrConfig) {
		t.Errorf("want ErrConfig, have %v", err)
	}
}

type appConfig struct {
	Port  int      `json:"port"`
	Hosts []string `json:"hosts"`
}

func TestStoreRoundTrip(t *testing.T) {
	client := redistest.Client(t)
	ctx := context.Background()
	s := newStore(t, client)
	svc := redistest.Name("cfg")
	for _, v := range []string{"1.9.0", "1.10.0", "1.2.0", "staging"} {
		if err := s.Put(ctx, svc, v, appConfig{Port: len(v), Hosts: []string{v}}); err != nil {
			t.Fatal(err)
		}
	}
	// Exactly what Node's putConfig writes: HSET field = version, value = JSON.stringify(doc).
	if want, have := `{"port":6,"hosts":["1.10.0"]}`, client.HGet(ctx, keyspace.New().Configs(svc), "1.10.0").Val(); want != have {
		t.Errorf("want %s, have %s", want, have)
	}
	versions, err := s.List(ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	if want, have := "[staging 1.2.0 1.9.0 1.10.0]", fmt.Sprint(versions); want != have {
		t.Errorf("List: want %s, have %s", want, have)
	}
	var c appConfig
	if err := s.Load(ctx, svc, "1.9.0", &c); err != nil || c.Port != 5 || c.Hosts[0] != "1.9.0" {
		t.Errorf("Load: %+v %v", c, err)
	}
	version, doc, err := s.Latest(ctx, svc)
	if err != nil || version != "1.10.0" || string(doc) != `{"port":6,"hosts":["1.10.0"]}` {
		t.Errorf("Latest: %q %s %v", version, doc, err)
	}
	if err := s.Remove(ctx, svc, "1.10.0"); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(ctx, svc, "1.10.0"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Remove: want ErrNotFound, have %v", err)
	}
	if version, _, _ := s.Latest(ctx, svc); version != "1.9.0" {
		t.Errorf("Latest after Remove: %q", version)
	}
	if _, err := s.Get(ctx, svc, "1.10.0"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get removed: want ErrNotFound, have %v", err)
	}
	empty := redistest.Name("none")
	if versions, err := s.List(ctx, empty); err != nil || len(versions) != 0 {
		t.Errorf("List of nothing: %v %v", versions, err)
	}
	if _, _, err := s.Latest(ctx, empty); !errors.Is(err, ErrNotFound) {
		t.Errorf("Latest of nothing: want ErrNotFound, have %v", err)
	}
}

func TestStoreRawAndInvalid(t *testing.T) {
	_, client := redistest.Mini(t)
	ctx := context.Background()
	s := newStore(t, client)
	if err := s.Put(ctx, "svc", "1.0.0", json.RawMessage(" {\"a\": [1, 2]} ")); err != nil {
		t.Fatal(err)
	}
	if doc, _ := s.Get(ctx, "svc", "1.0.0"); string(doc) != `{"a":[1,2]}` {
		t.Errorf("raw JSON is stored compact: %s", doc)
	}
	for _, tc := range []struct {
		doc  any
		want error
	}{
		{nil, ErrInvalidDocument},
		{json.RawMessage("{"), ErrInvalidDocument},
		{make(chan int), ErrInvalidDocument},
	} {
		if err := s.Put(ctx, "svc", "2.0.0", tc.doc); !errors.Is(err, tc.want) {
			t.Errorf("Put(%v): want %v, have %v", tc.doc, tc.want, err)
		}
	}
	client.HSet(ctx, keyspace.New().Configs("svc"), "3.0.0", "not json")
	var v map[string]any
	if err := s.Load(ctx, "svc", "3.0.0", &v); !errors.Is(err, ErrInvalidDocument) {
		t.Errorf("Load of garbage: want ErrInvalidDocument, have %v", err)
	}
	for _, args := range [][2]string{{"svc", ""}, {"svc", "1:2"}, {"", "1.0.0"}, {"a:b", "1.0.0"}, {"s*", "1"}} {
		if err := s.Put(ctx, args[0], args[1], 1); !errors.Is(err, ErrInvalidLabel) {
			t.Errorf("Put(%q, %q): want ErrInvalidLabel, have %v", args[0], args[1], err)
		}
		if _, err := s.Get(ctx, args[0], args[1]); !errors.Is(err, ErrInvalidLabel) {
			t.Errorf("Get(%q, %q): want ErrInvalidLabel, have %v", args[0], args[1], err)
		}
	}
	if _, err := s.List(ctx, "a:b"); !errors.Is(err, ErrInvalidLabel) {
		t.Errorf("List: want ErrInvalidLabel, have %v", err)
	}
}

// Node does not lower-case config labels, so neither does the store: the key is the name as given.
func TestStoreKeepsCase(t *testing.T) {
	_, client := redistest.Mini(t)
	ctx := context.Background()
	if err := newStore(t, client).Put(ctx, "MySvc", "1.0.0", map[string]int{"a": 1}); err != nil {
		t.Fatal(err)
	}
	if want, have := int64(1), client.Exists(ctx, "hydra:service:MySvc:configs").Val(); want != have {
		t.Errorf("want %d, have %d", want, have)
	}
	acme := hydrakit.WithKeyspace(keyspace.New(keyspace.WithPrefix("acme"), keyspace.ClusterSafe()))
	if err := newStore(t, client, acme).Put(ctx, "svc", "1", 1); err != nil {
		t.Fatal(err)
	}
	if want, have := int64(1), client.Exists(ctx, "acme:{svc}:configs").Val(); want != have {
		t.Errorf("keyspace: want %d, have %d", want, have)
	}
}

func TestParseLabel(t *testing.T) {
	svc, version, err := ParseLabel("orders:1.2.3")
	if err != nil || svc != "orders" || version != "1.2.3" {
		t.Errorf("%q %q %v", svc, version, err)
	}
	if want, have := "orders:1.2.3", Label(svc, version); want != have {
		t.Errorf("want %q, have %q", want, have)
	}
	// Node's getConfig rejects a label without a version, and with more than one colon.
	for _, label := range []string{"orders", "orders:1:2", ":1.0.0", "orders:", ""} {
		if _, _, err := ParseLabel(label); !errors.Is(err, ErrInvalidLabel) {
			t.Errorf("%q: want ErrInvalidLabel, have %v", label, err)
		}
	}
}

func TestStoreRedisDown(t *testing.T) {
	srv := redistest.Start(t)
	client := goredis.NewClient(&goredis.Options{Addr: srv.Addr, MaxRetries: -1})
	defer func() { _ = client.Close() }()
	ctx := context.Background()
	s := newStore(t, client)
	srv.Kill(t)
	if err := s.Put(ctx, "svc", "1.0.0", 1); err == nil {
		t.Error("Put with Redis down must fail")
	}
	if _, err := s.Get(ctx, "svc", "1.0.0"); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("Get with Redis down: want a Redis error, have %v", err)
	}
	if _, _, err := s.Latest(ctx, "svc"); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("Latest with Redis down: want a Redis error, have %v", err)
	}
	srv.Restart(t)
	if err := s.Put(ctx, "svc", "1.0.0", 1); err != nil {
		t.Errorf("Put after restart: %v", err)
	}
}

// Put writes the bytes Node's putConfig (JSON.stringify) writes for the same document: no HTML
// escaping of <, > and &, U+2028 and U+2029 as they are, no trailing newline. The expected string was
// checked against node -e 'process.stdout.write(JSON.stringify({...}))'.
func TestPutWritesNodeBytes(t *testing.T) {
	_, client := redistest.Mini(t)
	ctx := context.Background()
	s := newStore(t, client)
	type doc struct {
		HTML  string    `json:"html"`
		LS    string    `json:"ls"`
		Ctl   string    `json:"ctl"`
		Slash string    `json:"slash"`
		N     []float64 `json:"n"`
	}
	want := "{\"html\":\"<b>&amp;</b> a>b\",\"ls\":\"x\u2028y\u2029z\",\"ctl\":\"\\b\\f\\u0001\\n\\\\u2028\",\"slash\":\"a/b\",\"n\":[1.5,1e+21,1e-7,100]}"
	for name, v := range map[string]any{
		"struct": doc{HTML: "<b>&amp;</b> a>b", LS: "x\u2028y\u2029z", Ctl: "\b\f\x01\n\\u2028", Slash: "a/b", N: []float64{1.5, 1e21, 1e-7, 100}},
		"raw":    json.RawMessage(" " + want + "\n"),
	} {
		if err := s.Put(ctx, "svc", "1.0.0", v); err != nil {
			t.Fatal(err)
		}
		if have := client.HGet(ctx, keyspace.New().Configs("svc"), "1.0.0").Val(); want != have {
			t.Errorf("%s:\nwant %s\nhave %s", name, want, have)
		}
	}
}
