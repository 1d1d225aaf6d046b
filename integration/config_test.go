package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/hydrakit/hydrakit/config"
	"github.com/hydrakit/hydrakit/internal/redistest"
)

type cfgDoc struct {
	Workers int            `json:"workers"`
	Mode    string         `json:"mode"`
	Limits  map[string]int `json:"limits"`
}

// A config pushed by Node's putConfig is read by Go and the other way round; Go lists versions in
// version order where Node sorts strings; a Go watcher sees Node's push.
func TestConfigNodeInterop(t *testing.T) {
	srv := redistest.Start(t)
	client := srv.Client(t)
	hc := redistest.Fleet(t, client)
	ctx := context.Background()
	store, err := config.NewStore(hc)
	if err != nil {
		t.Fatal(err)
	}
	const svc = "go-config"
	p := startNodePeer(t, srv.URL()+"/0", "cfg-peer")

	p.MustCall("putConfig", svc+":1.9.0", cfgDoc{Workers: 4, Mode: "safe", Limits: map[string]int{"rps": 10}})
	p.MustCall("putConfig", svc+":1.10.0", map[string]any{"workers": 8, "mode": "fast", "unicode": "é<&>"})
	var fromNode cfgDoc
	if err := store.Load(ctx, svc, "1.9.0", &fromNode); err != nil {
		t.Fatal(err)
	}
	if fromNode.Workers != 4 || fromNode.Mode != "safe" || fromNode.Limits["rps"] != 10 {
		t.Errorf("Go read of Node's putConfig: %+v", fromNode)
	}
	if raw, err := store.Get(ctx, svc, "1.10.0"); err != nil || string(raw) != `{"mode":"fast","unicode":"é<&>","workers":8}` {
		t.Errorf("Get returns Node's JSON.stringify bytes verbatim: %s %v", raw, err)
	}
	versions, err := store.List(ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	if want, have := "[1.9.0 1.10.0]", fmt.Sprint(versions); want != have {
		t.Errorf("Go List: want %s, have %s", want, have)
	}
	var nodeList []string
	_ = json.Unmarshal(p.MustCall("listConfig", svc), &nodeList)
	if want, have := fmt.Sprint([]string{svc + ":1.10.0", svc + ":1.9.0"}), fmt.Sprint(nodeList); want != have {
		t.Errorf("Node's listConfig (string order): want %s, have %s", want, have)
	}

	changes := make(chan config.Event, 8)
	w, err := store.Watch(svc, "", func(e config.Event) { changes <- e }, config.WatchInterval(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = w.Close() }()
	if e := <-changes; e.Version != "1.10.0" {
		t.Errorf("latest: %+v", e)
	}

	goDoc := cfgDoc{Workers: 16, Mode: "go", Limits: map[string]int{"rps": 99}}
	if err := store.Put(ctx, svc, "2.0.0", goDoc); err != nil {
		t.Fatal(err)
	}
	var seen cfgDoc
	if err := json.Unmarshal(p.MustCall("getConfig", svc+":2.0.0"), &seen); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(seen) != fmt.Sprint(goDoc) {
		t.Errorf("Node's getConfig of Go's Put: want %+v, have %+v", goDoc, seen)
	}
	select {
	case e := <-changes:
		if e.Version != "2.0.0" {
			t.Errorf("watch: %+v", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Go's watcher missed Go's Put")
	}
	p.MustCall("putConfig", svc+":2.0.0", map[string]int{"workers": 32})
	select {
	case e := <-changes:
		if e.Version != "2.0.0" || string(e.Doc) != `{"workers":32}` {
			t.Errorf("watch of Node's putConfig: %+v %s", e, e.Doc)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Go's watcher missed Node's putConfig")
	}

	// Node's getConfig needs a version; a label without one is rejected, as ParseLabel does.
	if _, err := p.Call("getConfig", svc); err == nil {
		t.Error("Node's getConfig accepted a label without version")
	}
	if _, _, err := config.ParseLabel(svc); err == nil {
		t.Error("ParseLabel accepted a label without version")
	}
	if err := store.Remove(ctx, svc, "2.0.0"); err != nil {
		t.Fatal(err)
	}
	if raw := p.MustCall("getConfig", svc+":2.0.0"); string(raw) != "null" {
		t.Errorf("Node's getConfig after Go's Remove: %s", raw)
	}
	select {
	case e := <-changes:
		if e.Version != "1.10.0" {
			t.Errorf("watch after Remove: %+v", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("watcher missed the removal of the latest")
	}
}
