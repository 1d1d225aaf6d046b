package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// requireNode skips when node is missing, except in CI, where it fails. When the npm modules are
// missing and npm exists it installs them with `npm ci` (from the committed package-lock.json).
func requireNode(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs Node Hydra; skipped with -short")
	}
	unavailable := func(msg string) {
		msg = "Node Hydra unavailable: " + msg + " (install node and npm, then `npm ci` in examples/node-interop/node)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if _, err := exec.LookPath("node"); err != nil {
		unavailable(err.Error())
	}
	if _, err := os.Stat(filepath.Join("node", "node_modules", "hydra")); err == nil {
		return
	}
	if _, err := exec.LookPath("npm"); err != nil {
		unavailable("node_modules missing and " + err.Error())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = "node"
	if out, err := cmd.CombinedOutput(); err != nil {
		unavailable("npm ci failed: " + err.Error() + "\n" + string(out))
	}
}

// Both directions against the real Node Hydra service, on a real Redis: run checks each step
// itself and fails naming the step.
func TestSelftest(t *testing.T) {
	requireNode(t)
	srv := redistest.Start(t)
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), []string{"-selftest", "-redis", srv.URL() + "/0"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	for _, want := range []string{
		`go: request /uppercase: "hello from node"`,
		`node: reply from go-interop /uppercase: {"v":"HELLO FROM NODE","by":"go"}`,
		`go: reply from node-interop /greet: "hello, gopher" (by node)`,
		`node: job `,
		"selftest ok",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
		}
	}
	// Both services left: Node deregistered on SIGTERM, Go on return; the job is off the queue.
	c := srv.Client(t)
	for _, svc := range []string{"go-interop", "node-interop"} {
		keys, err := c.Keys(context.Background(), keyspace.New().Presence(svc, "*")).Result()
		if err != nil || len(keys) != 0 {
			t.Errorf("%s presence after run: %v, %v", svc, keys, err)
		}
	}
	for _, key := range []string{keyspace.New().QueueReceived("node-interop"), keyspace.New().QueueInProgress("node-interop"), keyspace.New().QueueIncomplete("node-interop")} {
		if n, err := c.LLen(context.Background(), key).Result(); err != nil || n != 0 {
			t.Errorf("%s: %d, %v", key, n, err)
		}
	}
}

// A Node service that dies before registering fails the selftest at step 1, promptly.
func TestSelftestNodeDies(t *testing.T) {
	requireNode(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "service.js"), []byte("console.error('boom'); process.exit(3);\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "node_modules", "hydra"), 0o755); err != nil {
		t.Fatal(err)
	}
	srv := redistest.Start(t)
	var stdout bytes.Buffer
	err := run(t.Context(), []string{"-selftest", "-redis", srv.URL() + "/0", "-node-dir", dir}, &stdout, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "step 1") || !strings.Contains(err.Error(), "exited") {
		t.Fatalf("want a step 1 error, have %v", err)
	}
}

// Without node_modules the selftest says what to run instead of starting a broken Node.
func TestSelftestWithoutModules(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "service.js"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	srv := redistest.Start(t)
	err := run(t.Context(), []string{"-selftest", "-redis", srv.URL() + "/0", "-node-dir", dir}, &bytes.Buffer{}, &bytes.Buffer{})
	if !errors.Is(err, errNodeUnavailable) || !strings.Contains(err.Error(), "npm ci") {
		t.Fatalf("want errNodeUnavailable naming npm ci, have %v", err)
	}
}

// The Redis URL given to Node always names a DB: Node Hydra would use DB 15 without one.
func TestNodeEnv(t *testing.T) {
	for in, want := range map[string]string{
		"redis://127.0.0.1:6379":         "redis://127.0.0.1:6379/0",
		"redis://127.0.0.1:6379/":        "redis://127.0.0.1:6379/0",
		"redis://127.0.0.1:6379/3":       "redis://127.0.0.1:6379/3",
		"redis://:secret@10.0.0.1:6380":  "redis://:secret@10.0.0.1:6380/0",
		"rediss://user:pw@redis.example": "rediss://user:pw@redis.example/0",
	} {
		if have := nodeEnv(in, "g", "n")[0]; have != "HYDRA_REDIS_URL="+want {
			t.Errorf("%s: want %s, have %s", in, want, have)
		}
	}
}

// Without a Node service the Go service says so and queues nothing, so no jobs pile up.
func TestTalkWithoutNode(t *testing.T) {
	srv := redistest.Start(t)
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Second)
	defer cancel()
	var stdout bytes.Buffer
	if err := run(ctx, []string{"-redis", srv.URL() + "/0", "-every", "1h"}, &stdout, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if want := "go: calling node-interop /greet: no endpoints available\n"; !strings.HasSuffix(stdout.String(), want) {
		t.Errorf("want output ending in %q, have:\n%s", want, stdout.String())
	}
	if n, err := srv.Client(t).LLen(context.Background(), keyspace.New().QueueReceived("node-interop")).Result(); err != nil || n != 0 {
		t.Errorf("queued while Node was away: %d, %v", n, err)
	}
}
