package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// errNodeUnavailable means node or the npm modules are missing: nothing to test against.
var errNodeUnavailable = errors.New("node-interop: Node Hydra unavailable")

// findNodeDir returns the directory holding service.js and its node_modules.
func findNodeDir(dir string) (string, error) {
	candidates := []string{dir}
	if dir == "" {
		candidates = []string{"node", filepath.Join("examples", "node-interop", "node")}
	}
	for _, d := range candidates {
		if _, err := os.Stat(filepath.Join(d, "service.js")); err == nil {
			if _, err := os.Stat(filepath.Join(d, "node_modules", "hydra")); err != nil {
				return "", fmt.Errorf("%w: run `npm ci` in %s", errNodeUnavailable, d)
			}
			return filepath.Abs(d)
		}
	}
	return "", fmt.Errorf("no service.js in %s (run from the repository root or pass -node-dir)", strings.Join(candidates, " or "))
}

// runSelftest starts the Node service and checks, each step within a deadline, that Go's call
// reached Node and was answered, that Node's call reached Go and was answered, and that a job Go
// queued was taken and completed by Node. It then stops Node and wants it to exit cleanly.
func runSelftest(ctx context.Context, svc *goService, env []string, dir string, out io.Writer, stderr io.Writer) error {
	if _, err := exec.LookPath("node"); err != nil {
		return fmt.Errorf("%w: %v", errNodeUnavailable, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	n, err := startNode(dir, env, out, stderr)
	if err != nil {
		return err
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = n.stop()
		}
	}()

	if err := n.waitLine(ctx, "node: ready "); err != nil {
		return fmt.Errorf("step 1, Node registers: %w", err)
	}
	g, err := greetUntilFound(ctx, svc)
	if err != nil {
		return fmt.Errorf("step 2, Go calls Node /greet: %w", err)
	}
	if g.Greeting != "hello, gopher" || g.By != "node" {
		return fmt.Errorf("step 2, Go calls Node /greet: unexpected reply %+v", g)
	}
	fmt.Fprintf(out, "go: reply from %s /greet: %q (by %s)\n", svc.node, g.Greeting, g.By)

	select {
	case s := <-svc.uppercased:
		if s != "hello from node" {
			return fmt.Errorf("step 3, Node calls Go /uppercase: Go received %q", s)
		}
	case <-ctx.Done():
		return fmt.Errorf("step 3, Node calls Go /uppercase: nothing arrived: %w", ctx.Err())
	}
	if err := n.waitLine(ctx, `node: reply from `+svc.name+` /uppercase: {"v":"HELLO FROM NODE","by":"go"}`); err != nil {
		return fmt.Errorf("step 3, Node gets Go's reply: %w", err)
	}

	mid, err := svc.queueJob(ctx, "cat.png")
	if err != nil {
		return fmt.Errorf("step 4, Go queues a job: %w", err)
	}
	fmt.Fprintf(out, "go: queued job %s for %s\n", mid, svc.node)
	if err := waitJobDone(ctx, svc, mid); err != nil {
		return fmt.Errorf("step 4, Node completes the job: %w", err)
	}
	if err := n.waitLine(ctx, "node: job "+mid+" completed"); err != nil {
		return fmt.Errorf("step 4, Node completes the job: %w", err)
	}

	stopped = true
	if err := n.stop(); err != nil {
		return fmt.Errorf("step 5, Node shuts down: %w", err)
	}
	fmt.Fprintln(out, "selftest ok")
	return nil
}

// greetUntilFound retries while the Go side has not discovered the Node instance yet (sd/redis
// finds Node-registered instances by its nodes scan, every few seconds); an answer from Node,
// even an error one, ends it.
func greetUntilFound(ctx context.Context, svc *goService) (greeting, error) {
	for {
		g, err := svc.greetNode(ctx, "gopher")
		if err == nil || ctx.Err() != nil {
			return g, err
		}
		select {
		case <-ctx.Done():
			return g, fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func waitJobDone(ctx context.Context, svc *goService, mid string) error {
	for {
		select {
		case d := <-svc.jobsDone:
			if d.MID == mid {
				if d.Result != "resized cat.png" {
					return fmt.Errorf("unexpected result %q", d.Result)
				}
				return nil
			}
		case <-ctx.Done():
			return fmt.Errorf("no /job-done for %s: %w", mid, ctx.Err())
		}
	}
}
