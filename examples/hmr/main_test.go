package main

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/transport/redispubsub"
	"github.com/hydrakit/hydrakit/umf"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestEchoAndCleanShutdown(t *testing.T) {
	srv := redistest.Start(t)
	client := srv.Client(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-redis", srv.URL() + "/0", "-name", "hmr"}, pw, io.Discard)
		_ = pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	id := strings.TrimSpace(strings.TrimPrefix(line, "ready "))
	if n, err := client.Exists(ctx, keyspace.New().Presence("hmr", id)).Result(); err != nil || n != 1 {
		t.Fatalf("presence of %s: %d %v", id, n, err)
	}
	// NewReporter writes the first snapshot before it returns, so it is there before "ready".
	if n, err := client.Exists(ctx, keyspace.New().Health("hmr", id)).Result(); err != nil || n != 1 {
		t.Fatalf("health snapshot of %s: %d %v", id, n, err)
	}

	caller, err := redispubsub.NewConn(redistest.Fleet(t, client), "caller", keyspace.NewInstanceID())
	if err != nil {
		t.Fatal(err)
	}
	defer caller.Close()
	rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
	defer rcancel()
	reply, err := caller.Request(rctx, &umf.Message{To: id + "@hmr:/anything", Body: []byte(`{"n":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	if want, have := `{"echo":{"n":1}}`, string(reply.Body); want != have {
		t.Errorf("direct: want %s, have %s", want, have)
	}
	// A broadcast on the service channel with a reply address is answered too.
	probe := keyspace.NewInstanceID()
	ps := client.Subscribe(rctx, keyspace.New().InstanceChannel("probe", probe))
	defer ps.Close()
	if _, err := ps.Receive(rctx); err != nil {
		t.Fatal(err)
	}
	if err := caller.Broadcast(rctx, &umf.Message{To: "hmr:/", From: probe + "@probe:/", MID: "b-1", Body: []byte(`[2]`)}); err != nil {
		t.Fatal(err)
	}
	m, err := ps.ReceiveMessage(rctx)
	if err != nil {
		t.Fatal(err)
	}
	if reply, err = umf.Unmarshal([]byte(m.Payload)); err != nil {
		t.Fatal(err)
	}
	if want, have := `{"echo":[2]}`, string(reply.Body); want != have || reply.RMID != "b-1" {
		t.Errorf("broadcast: want %s rmid b-1, have %s rmid %s", want, have, reply.RMID)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("hmr did not stop")
	}
	if n, _ := client.Exists(context.Background(), keyspace.New().Presence("hmr", id)).Result(); n != 0 {
		t.Error("presence left behind after shutdown")
	}
}
