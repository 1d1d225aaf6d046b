package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
)

func TestMain(m *testing.M) { redistest.VerifyNoLeaks(m) }

func TestServeAndDeregister(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-redis", srv.URL() + "/0", "-listen", "127.0.0.1:0", "-advertise", "127.0.0.1:1234"}, pw, io.Discard)
		_ = pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	fields := strings.Fields(line)
	if len(fields) != 3 || fields[0] != "ready" || !strings.HasPrefix(fields[2], "http://127.0.0.1:") {
		t.Fatalf("ready line %q", line)
	}
	id, base := fields[1], fields[2]
	if n := rdb.Exists(ctx, keyspace.New().Presence("hydra-router", id)).Val(); n != 1 {
		t.Fatalf("no presence for %s", id)
	}
	if entry := rdb.HGet(ctx, keyspace.New().Nodes(), id).Val(); !strings.Contains(entry, `"ip":"127.0.0.1","port":1234`) {
		t.Errorf("nodes entry %s", entry)
	}
	resp, err := http.Get(base + "v1/router/version")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"result":{"version":`) {
		t.Errorf("%d %s", resp.StatusCode, body)
	}
	http.DefaultClient.CloseIdleConnections()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := rdb.Exists(context.Background(), keyspace.New().Presence("hydra-router", id)).Val(); n != 0 {
		t.Error("presence left after shutdown")
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-token", "nope"}, {"-advertise", "x"}, {"extra"}} {
		if err := run(context.Background(), append([]string{"-redis", "redis://127.0.0.1:1/0"}, args...), io.Discard, io.Discard); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
