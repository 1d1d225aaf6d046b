package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var answer = regexp.MustCompile(`^HELLO (\d+) \(from (127\.0\.0\.1:\d+)\)$`)

// checkAnswers wants n answers in order, spread over exactly instances instances.
func checkAnswers(t *testing.T, out string, n, instances int) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != n {
		t.Fatalf("want %d answers, have:\n%s", n, out)
	}
	by := map[string]bool{}
	for i, line := range lines {
		m := answer.FindStringSubmatch(line)
		if m == nil || m[1] != strconv.Itoa(i) {
			t.Fatalf("answer %d: %q", i, line)
		}
		by[m[2]] = true
	}
	if len(by) != instances {
		t.Errorf("want answers from %d instances, have %v", instances, by)
	}
}

// Three instances and a client in one process, unattended, on a real Redis; every instance has
// left Redis when run returns.
func TestInstancesAndClient(t *testing.T) {
	srv := redistest.Start(t)
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"-redis", srv.URL() + "/0", "-instances", "3", "-requests", "6"}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	checkAnswers(t, stdout.String(), 6, 3)
	keys, err := srv.Client(t).Keys(context.Background(), keyspace.New().Presence("stringsvc", "*")).Result()
	if err != nil || len(keys) != 0 {
		t.Errorf("presence keys after run: %v, %v", keys, err)
	}
}

// Serving and calling in separate runs, as two processes would: the client only knows Redis.
func TestServeThenCallFromAnotherRun(t *testing.T) {
	srv := redistest.Start(t)
	url := srv.URL() + "/0"
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	var serveErr bytes.Buffer
	go func() {
		served <- run(ctx, []string{"-redis", url, "-instances", "2", "-requests", "0"}, &bytes.Buffer{}, &serveErr)
	}()
	defer func() { // also after a Fatal: the serving run must end before its Redis does
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serving run: %v\n%s", err, serveErr.String())
		}
	}()

	var stdout, stderr bytes.Buffer
	// The client waits for one instance; the second may register a moment later, so ask again.
	deadline := time.Now().Add(10 * time.Second)
	for {
		stdout.Reset()
		err := run(t.Context(), []string{"-redis", url, "-instances", "0", "-requests", "4"}, &stdout, &stderr)
		if err != nil {
			t.Fatalf("calling run: %v\n%s", err, stderr.String())
		}
		if distinct(stdout.String()) == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	checkAnswers(t, stdout.String(), 4, 2)

	// Every instance serves its process's metrics on /metrics (hydrakit's appear beside the Go
	// runtime's once a component has something to count: this process only registers).
	instance := answer.FindStringSubmatch(strings.SplitN(stdout.String(), "\n", 2)[0])[2]
	resp, err := http.Get("http://" + instance + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{"go_goroutines "} {
		if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(want)) {
			t.Errorf("GET /metrics of %s: status %d, no %q in:\n%.2000s", instance, resp.StatusCode, want, body)
		}
	}
}

func distinct(out string) int {
	by := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if m := answer.FindStringSubmatch(line); m != nil {
			by[m[2]] = true
		}
	}
	return len(by)
}

// A client with no Redis to ask fails with an error instead of hanging.
func TestNoRedis(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	err := run(ctx, []string{"-redis", "redis://127.0.0.1:1/0", "-instances", "0", "-requests", "1", "-wait", "500ms"}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil {
		t.Fatal("want an error")
	}
}

// docs/migrating-from-consul.md shows the whole difference between ../consul/main.go and
// main.go: every line only one file has is in its side of the doc's diff, and every line of the
// doc's diff is in its file.
func TestDocDiffMatchesFiles(t *testing.T) {
	consul, redis := codeLines(t, "../consul/main.go"), codeLines(t, "main.go")
	doc, err := os.ReadFile("../../../docs/migrating-from-consul.md")
	if err != nil {
		t.Fatal(err)
	}
	removed, added := map[string]bool{}, map[string]bool{}
	inDiff := false
	sc := bufio.NewScanner(bytes.NewReader(doc))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "```diff":
			inDiff = true
		case line == "```":
			inDiff = false
		case inDiff && strings.HasPrefix(line, "-"):
			removed[strings.TrimSpace(line[1:])] = true
		case inDiff && strings.HasPrefix(line, "+"):
			added[strings.TrimSpace(line[1:])] = true
		}
	}
	check := func(side string, doc, file, other map[string]bool) {
		for l := range doc {
			if l != "" && !file[l] {
				t.Errorf("doc's %s line %q is not in that file", side, l)
			}
		}
		for l := range file {
			if !other[l] && !doc[l] {
				t.Errorf("file line %q differs from the other file but is not in the doc's %s lines", l, side)
			}
		}
	}
	check("-", removed, consul, redis)
	check("+", added, redis, consul)
}

// codeLines is the set of trimmed lines after the package clause (the doc comments differ).
func codeLines(t *testing.T, path string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, code, ok := strings.Cut(string(b), "\npackage main\n")
	if !ok {
		t.Fatalf("%s: no package clause", path)
	}
	lines := map[string]bool{}
	for _, l := range strings.Split(code, "\n") {
		lines[strings.TrimSpace(l)] = true
	}
	return lines
}
