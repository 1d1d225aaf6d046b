package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"go.uber.org/goleak"

	"github.com/hydrakit/hydrakit"
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

// Failed replies are logged at most once a second, with the count of those left out.
func TestFailedRepliesLoggedAtABoundedRate(t *testing.T) {
	var lines []string
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	l := &limitedLogger{now: func() time.Time { return now }, next: log.LoggerFunc(func(keyvals ...any) error {
		lines = append(lines, fmt.Sprint(keyvals...))
		return nil
	})}
	_, rdb := redistest.Mini(t)
	conn, err := redispubsub.NewConn(redistest.Fleet(t, rdb), "hmr", keyspace.NewInstanceID())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	handler := echo(l)
	caller := &umf.Message{From: "nobody:/", MID: "m"} // no instance of nobody: every reply fails
	for range 1000 {
		handler(context.Background(), conn, caller)
	}
	now = now.Add(time.Second)
	handler(context.Background(), conn, caller)
	if want, have := 2, len(lines); want != have {
		t.Fatalf("want %d lines, have %d: %q", want, have, lines)
	}
	if !strings.Contains(lines[1], "suppressed999") {
		t.Errorf("want the second line to count 999 suppressed, have %q", lines[1])
	}
}

// lines is an io.Writer that hands every line written to it to a channel.
type lines chan string

func (l lines) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimSuffix(string(p), "\n"), "\n") {
		select {
		case l <- line:
		default:
		}
	}
	return len(p), nil
}

// With -secret (the first signing, the others accepted) and -require-signatures, hmr answers a
// caller that signs with an accepted secret, signing its reply, and drops an unsigned request.
func TestSigningFlags(t *testing.T) {
	srv := redistest.Start(t)
	client := srv.Client(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	stderr := make(lines, 1024)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-redis", srv.URL() + "/0", "-name", "hmr", "-secret", "new,old", "-require-signatures"}, pw, stderr)
		_ = pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	id := strings.TrimSpace(strings.TrimPrefix(line, "ready "))

	// Signs with old, accepts new: a fleet in the middle of a rotation.
	signed, err := redispubsub.NewConn(redistest.Fleet(t, client, hydrakit.WithSigning("old", "new"), hydrakit.WithRequiredSignatures()),
		"caller", keyspace.NewInstanceID())
	if err != nil {
		t.Fatal(err)
	}
	defer signed.Close()
	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	defer rcancel()
	reply, err := signed.Request(rctx, &umf.Message{To: id + "@hmr:/x", Body: []byte(`1`)})
	if err != nil {
		t.Fatal(err)
	}
	if err := umf.Verify(reply, []byte("new")); err != nil || string(reply.Body) != `{"echo":1}` {
		t.Errorf("want an echo signed with the first secret, have %s (%v)", reply.Body, err)
	}

	unsigned, err := redispubsub.NewConn(redistest.Fleet(t, client), "caller", keyspace.NewInstanceID())
	if err != nil {
		t.Fatal(err)
	}
	defer unsigned.Close()
	if err := unsigned.Send(rctx, &umf.Message{To: id + "@hmr:/x", From: unsigned.Address()}); err != nil {
		t.Fatal(err)
	}
	for dropped := false; !dropped; {
		select {
		case line := <-stderr:
			dropped = strings.Contains(line, "failed the signature check")
		case <-time.After(10 * time.Second):
			t.Fatal("hmr did not log the dropped unsigned request")
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s := unsigned.Stats(); s.Orphans != 0 {
		t.Errorf("the unsigned request was answered: %+v", s)
	}
}
