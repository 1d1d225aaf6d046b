package dashboard

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hydrakit/hydrakit/internal/redistest"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
)

// TestBrowser shows three instances of a service (separate processes) in a real headless Chromium,
// SIGKILLs one, and waits for its tile to turn red without a reload, within the presence TTL plus 1 s
// of the kill. Every request the page makes must carry the token.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium, a real Redis and three service processes; skipped with -short")
	}
	chrome := findChromium(t)
	redis := redistest.Start(t)
	client := redistest.Fleet(t, redis.Client(t))

	service := redistest.Name("hmr")
	bin := buildHMR(t)
	procs := make([]*exec.Cmd, 3)
	ids := make([]string, 3)
	for i := range procs {
		procs[i], ids[i] = startHMR(t, bin, redis.URL(), service)
	}

	const token = "6f1c2a3e-2b8f-4a57-9a1d-0c9b7e5d4f21"
	d, err := New(client, DashboardRouter("0123456789abcdef0123456789abcdef", "test"))
	check(t, err)
	var unauthorized atomic.Int64
	cleared := make(chan struct{}, 1)
	// Stands in for the router: / and /dashboard/ need the token, and /v1/router/clear redirects.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("token") != token {
			unauthorized.Add(1)
			t.Errorf("request without the token: %s", r.URL)
			http.Error(w, "token", http.StatusUnauthorized)
			return
		}
		if r.URL.Path == "/v1/router/clear" {
			select {
			case cleared <- struct{}{}:
			default:
			}
			http.Redirect(w, r, "/", http.StatusFound)
			return
		}
		d.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { check(t, d.Close()) })

	ctx := startBrowser(t, chrome)
	check(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/?token="+token)))
	wctx, cancel := context.WithTimeout(ctx, failAfter)
	defer cancel()
	for _, id := range ids {
		check(t, chromedp.Do(wctx, chromedp.WaitVisible(chromedp.CSS(`[data-instance="`+id+`"]:not(.dead)`))))
	}
	headline, err := chromedp.Run(wctx, chromedp.Text(chromedp.CSS("#headline")))
	check(t, err)
	if want := "hydrakit-router (test) running on "; !strings.HasPrefix(headline, want) ||
		!strings.HasSuffix(headline, " - (0123456789abcdef0123456789abcdef)") {
		t.Errorf("headline: want %q…, have %q", want, headline)
	}

	victim := 1
	check(t, procs[victim].Process.Kill()) // SIGKILL: no deregistration, the presence key expires
	killed := time.Now()
	bound := sdredis.DefaultTTL + time.Second
	kctx, kcancel := context.WithDeadline(ctx, killed.Add(bound))
	defer kcancel()
	if err := chromedp.Do(kctx, chromedp.WaitVisible(chromedp.CSS(`[data-instance="`+ids[victim]+`"].dead`))); err != nil {
		t.Fatalf("the killed instance's tile did not turn red within %v of SIGKILL: %v", bound, err)
	}
	t.Logf("tile red %v after SIGKILL (bound %v)", time.Since(killed).Round(time.Millisecond), bound)
	dead, err := chromedp.Run(wctx, chromedp.Nodes(chromedp.CSS(".tile.dead")))
	check(t, err)
	if want, have := 1, len(dead); want != have {
		t.Errorf("dead tiles: want %d, have %d", want, have)
	}
	badge, err := chromedp.Run(wctx, chromedp.Text(chromedp.CSS(`[data-instance="`+ids[victim]+`"] .badge`)))
	check(t, err)
	if want, have := "PRESENCE LOST", badge; want != have {
		t.Errorf("dead tile's badge (the state without colour): want %q, have %q", want, have)
	}

	shot, err := chromedp.Run(wctx, chromedp.FullScreenshot(90))
	check(t, err)
	path := filepath.Join(t.TempDir(), "dashboard.jpg")
	check(t, os.WriteFile(path, shot, 0o644))
	t.Logf("screenshot: %s", path)

	// Clear dead calls the router's clear endpoint, with the token.
	check(t, chromedp.Do(wctx, chromedp.Click(chromedp.CSS("#clear-dead"))))
	select {
	case <-cleared:
	case <-wctx.Done():
		t.Fatal("Clear dead did not call /v1/router/clear")
	}
	// The search box filters tiles by service name.
	check(t, chromedp.Do(wctx, chromedp.SendKeys(chromedp.CSS("#search"), "no-such-service")))
	check(t, chromedp.Do(wctx, chromedp.WaitNotVisible(chromedp.CSS(`[data-instance="`+ids[0]+`"]`))))
	if n := unauthorized.Load(); n > 0 {
		t.Errorf("%d requests without the token", n)
	}
}

// findChromium returns the browser to drive, skipping the test when there is none, except in CI.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium on PATH; CI must have it (apt-get install chromium)")
	}
	t.Skip("no chromium on PATH (apt-get install chromium); the browser test needs one")
	return ""
}

// buildHMR builds examples/hmr once into the test's temp dir.
func buildHMR(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hmr")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./examples/hmr")
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build examples/hmr: %v\n%s", err, out)
	}
	return bin
}

// startHMR starts one hmr instance and waits until it says it is registered; it is stopped when the
// test ends (unless the test killed it).
func startHMR(t *testing.T, bin, redisURL, service string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, "-redis", redisURL, "-name", service)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	check(t, err)
	check(t, cmd.Start())
	exited := make(chan struct{})
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-exited
	})
	ready := make(chan string, 1)
	go func() {
		defer close(exited)
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			if id, ok := strings.CutPrefix(s.Text(), "ready "); ok {
				ready <- id
			}
		}
		_ = cmd.Wait() // after stdout's EOF, as os/exec asks
	}()
	select {
	case id := <-ready:
		return cmd, id
	case <-exited:
		t.Fatalf("hmr exited before it was ready:\n%s", stderr.String())
	case <-time.After(failAfter):
		t.Fatalf("hmr not ready after %v", failAfter)
	}
	return nil, ""
}

// startBrowser starts a headless Chromium for the test; when the test ends, the browser and every
// process it started are gone.
func startBrowser(t *testing.T, chrome string) context.Context {
	t.Helper()
	options := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.Headless, chromedp.WindowSize(1280, 900))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), options...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	check(t, chromedp.Do(ctx)) // starts the browser, with no deadline on its context
	dataDir := userDataDir(t, chromedp.FromContext(ctx).Browser.Process().Pid)
	t.Cleanup(func() {
		if err := chromedp.Cancel(ctx); err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("closing the browser: %v", err)
		}
		cancelCtx()
		cancelAlloc()
		var left []int
		if !redistest.Poll(func() bool { left = processesWith("--user-data-dir=" + dataDir); return len(left) == 0 }) {
			t.Errorf("chromium processes left: %v", left)
		}
	})
	return ctx
}

// userDataDir reads the --user-data-dir of a browser process, which every process it starts carries.
func userDataDir(t *testing.T, pid int) string {
	t.Helper()
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	check(t, err)
	for arg := range bytes.SplitSeq(raw, []byte{0}) {
		if dir, ok := strings.CutPrefix(string(arg), "--user-data-dir="); ok {
			return dir
		}
	}
	t.Fatalf("chromium %d has no --user-data-dir", pid)
	return ""
}

// processesWith returns the PIDs of processes with arg on their command line.
func processesWith(arg string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		for a := range bytes.SplitSeq(raw, []byte{0}) {
			if string(a) == arg {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}
