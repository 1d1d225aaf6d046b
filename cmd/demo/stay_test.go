package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/hydrakit/hydrakit/internal/cli"
)

// With -stay the demo keeps its fleet and embedded Redis up after the tour; the hydrakit command it
// prints shows that fleet; cancelling (Ctrl-C or SIGTERM in main) ends it cleanly, with nothing left.
func TestDemoStayServesTheCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo takes about 10 s")
	}
	t.Setenv("REDIS_URL", "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, w := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"-stay"}, w, io.Discard)
		_ = w.Close()
		done <- err
	}()
	var seen strings.Builder
	var command, dashboard string
	lines := bufio.NewScanner(out)
	for command == "" || dashboard == "" {
		if !lines.Scan() {
			t.Fatalf("the demo ended without printing the hydrakit command: %v\n%s", <-done, seen.String())
		}
		line := strings.TrimSpace(lines.Text())
		seen.WriteString(line + "\n")
		if strings.HasPrefix(line, "hydrakit --redis redis://127.0.0.1:") && strings.HasSuffix(line, " nodes") {
			command = line
		}
		if d, ok := strings.CutPrefix(line, "hydrakit-router's dashboard: http://127.0.0.1:"); ok && strings.HasSuffix(d, "/") {
			dashboard = line
		}
	}
	drained := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, out); close(drained) }()

	var nodes, errs bytes.Buffer
	env := cli.Env{Getenv: func(string) string { return "" }, ConfigDir: t.TempDir()}
	if code := env.Run(ctx, strings.Fields(command)[1:], &nodes, &errs); code != cli.ExitOK {
		t.Fatalf("%s: exit %d: %s", command, code, errs.String())
	}
	live, lost, router := 0, 0, 0
	for _, row := range strings.Split(nodes.String(), "\n") {
		switch f := strings.Fields(row); {
		case len(f) == 0:
		case f[0] == greeterService && f[len(f)-1] == "live":
			live++
		case f[0] == greeterService && f[len(f)-1] == "LOST":
			lost++
		case f[0] == "hydra-router" && f[len(f)-1] == "live":
			router++
		}
	}
	// Three greeters registered, one was SIGKILLed (its entry stays, without presence), and the router.
	if live != 2 || lost != 1 || router != 1 {
		t.Errorf("%s: want 2 live greeters, 1 LOST and a live hydra-router, have %d, %d, %d:\n%s", command, live, lost, router, nodes.String())
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("the demo, stopped, returned %v (main would exit 1)", err)
	}
	<-drained
	goleak.VerifyNone(t)
}
