package main

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/go-kit/log"
	"go.uber.org/goleak"

	"github.com/hydrakit/hydrakit/internal/redistest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The example runs unattended against a real Redis: two instances, a client, a graceful leave.
func TestSelftest(t *testing.T) {
	srv := redistest.Start(t)
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"-redis", srv.URL() + "/0", "-selftest", "20"}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "selftest ok") {
		t.Errorf("stdout:\n%s", stdout.String())
	}
}

// A client finds instances it did not start, and its calls reach them.
func TestClientCallsRegisteredInstance(t *testing.T) {
	srv := redistest.Start(t)
	client := srv.Client(t)
	inst, err := startInstance(redistest.Fleet(t, client), "127.0.0.1:0", http.NotFoundHandler(), log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer inst.stop()
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"-redis", srv.URL() + "/0", "-call", "3"}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if want, have := "HELLO 2 (from "+inst.addr+")", strings.Split(strings.TrimSpace(stdout.String()), "\n")[2]; want != have {
		t.Errorf("want %q, have %q", want, have)
	}
}

func TestEmbeddedRedisSelftest(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"-selftest", "4"}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
}
