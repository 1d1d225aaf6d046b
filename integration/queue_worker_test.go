package integration

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/queue"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
)

// examples/worker as documented: -produce enqueues, -fail-every makes retries and dead letters
// visible, SIGTERM stops it gracefully; the worker registers its service for Node to see.
func TestQueueWorkerExample(t *testing.T) {
	bin := buildWorker(t)
	srv := redistest.Start(t)
	c := srv.Client(t)
	hc := redistest.Fleet(t, c)
	url := srv.URL() + "/0"
	if out, err := exec.Command(bin, "-redis", url, "-name", "wx", "-produce", "20").CombinedOutput(); err != nil {
		t.Fatalf("produce: %v\n%s", err, out)
	} else if want, have := 20, strings.Count(string(out), "msg=enqueued"); want != have {
		t.Fatalf("want %d enqueued, have %d:\n%s", want, have, out)
	}
	var out bytes.Buffer
	cmd := exec.Command(bin, "-redis", url, "-name", "wx", "-fail-every", "3", "-attempts", "2")
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	in, err := queue.NewInspector(hc)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		s, err := in.Stats(context.Background(), "wx")
		if err == nil && s.Received+s.InProgress+s.Delayed == 0 && s.Incomplete > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("worker did not settle every message: %+v %v", s, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := c.Exists(context.Background(), "hydra:service:wx:service").Val(); n != 1 {
		t.Error("worker did not register its service")
	}
	// The failures are warnings, which the worker's flight recorder keeps in Hydra's health log.
	healthLog := func() string {
		var all []string
		live, _ := sdredis.ListInstances(context.Background(), hc, "wx")
		for _, inst := range live {
			all = append(all, c.LRange(context.Background(), keyspace.New().HealthLog("wx", inst.ID), 0, -1).Val()...)
		}
		return strings.Join(all, "\n")
	}
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(healthLog(), "failing on purpose"); {
		if time.Now().After(deadline) {
			t.Fatalf("no failure in the worker's flight recorder:\n%s", healthLog())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("worker exit after SIGTERM: %v\n%s", err, out.String())
	}
	log := out.String()
	if !strings.Contains(log, "msg=handled") || !strings.Contains(log, "failing on purpose") {
		t.Fatalf("worker log lacks handled or failed messages:\n%s", log)
	}
}
