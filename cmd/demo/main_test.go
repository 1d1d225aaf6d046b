package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/hydrakit/hydrakit/internal/redistest"
)

// The demo starts its greeters and workers by running its own executable with -role; under `go test`
// that executable is the test binary, so TestMain plays the child's part.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "-role" {
		if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
			os.Stderr.WriteString("demo child: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

func runDemo(t *testing.T, args ...string) string {
	t.Helper()
	var out, errs bytes.Buffer
	if err := run(context.Background(), args, &out, &errs); err != nil {
		t.Fatalf("demo failed: %v\n%s\n%s", err, out.String(), errs.String())
	}
	if !strings.Contains(out.String(), "All 8 steps worked.") {
		t.Fatalf("demo did not finish:\n%s", out.String())
	}
	return out.String()
}

func TestDemoOnEmbeddedRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo takes about 10 s")
	}
	t.Setenv("REDIS_URL", "")
	out := runDemo(t)
	for _, want := range []string{"0 after", "hydra:service:nodes", "hydra:service:greeter:service"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestDemoOnRealRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo takes about 10 s")
	}
	srv := redistest.Start(t)
	runDemo(t, "-redis", srv.URL()+"/0")
}

// On a Redis that asks for a client certificate, the greeters and workers connect only if the demo
// passed them its TLS files.
func TestDemoOnMutualTLSRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo takes about 10 s")
	}
	srv := redistest.Start(t, redistest.MutualTLS())
	f := srv.TLSFiles()
	runDemo(t, "-redis", srv.URL()+"/0", "-redis-ca", f.CACert, "-redis-cert", f.ClientCert, "-redis-key", f.ClientKey)
}

func TestDemoFailsOnUnreachableRedis(t *testing.T) {
	var out, errs bytes.Buffer
	// Port 1 on loopback refuses connections; the demo must say which step failed, not hang.
	err := run(context.Background(), []string{"-redis", "redis://127.0.0.1:1/0"}, &out, &errs)
	if err == nil || !strings.Contains(err.Error(), "step 1") {
		t.Fatalf("want an error naming step 1, have %v\n%s", err, out.String())
	}
}
