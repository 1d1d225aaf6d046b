package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
)

// Mini starts an in-process miniredis and returns it with a client on it; both end with the test.
// miniredis has no keyspace notifications and only advances TTLs through FastForward.
func Mini(tb testing.TB) (*miniredis.Miniredis, *goredis.Client) {
	tb.Helper()
	m := miniredis.RunT(tb)
	c := goredis.NewClient(&goredis.Options{Addr: m.Addr()})
	tb.Cleanup(func() { _ = c.Close() })
	return m, c
}

// Client returns a client on a real Redis: REDIS_URL when set, else a server of the test's own
// (see Start). The client is closed when the test ends.
func Client(tb testing.TB) *goredis.Client {
	tb.Helper()
	if url := os.Getenv("REDIS_URL"); url != "" {
		opts, err := goredis.ParseURL(url)
		if err != nil {
			tb.Fatalf("redistest: REDIS_URL: %v", err)
		}
		c := goredis.NewClient(opts)
		tb.Cleanup(func() { _ = c.Close() })
		ping(tb, c)
		return c
	}
	return Start(tb).Client(tb)
}

// Server is a redis-server process (or container) owned by one test.
type Server struct {
	Addr string // host:port on loopback

	bin        string
	dir        string
	port       int
	appendOnly bool
	cmd        *exec.Cmd
	container  string
}

// ServerOption configures Start.
type ServerOption func(*Server)

// AppendOnly turns on append-only persistence with fsync on every write, so Restart keeps the data.
func AppendOnly() ServerOption { return func(s *Server) { s.appendOnly = true } }

// Start starts a redis-server of the test's own on a free loopback port, whatever REDIS_URL says, for
// tests that stop, restart or kill Redis. It is stopped when the test ends.
func Start(tb testing.TB, options ...ServerOption) *Server {
	tb.Helper()
	s := &Server{dir: tb.TempDir()}
	for _, o := range options {
		o(s)
	}
	if bin, err := exec.LookPath("redis-server"); err == nil {
		s.bin = bin
		s.port = freePort(tb)
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
		s.startProcess(tb)
		tb.Cleanup(s.stopProcess)
		return s
	}
	if dockerAnswers() {
		s.startContainer(tb)
		return s
	}
	tb.Fatal("redistest: no real Redis: set REDIS_URL=redis://host:port/db, put redis-server on PATH " +
		"(Debian: apt-get install -y redis-server; or run `make test`, which installs it), or start a Docker daemon")
	return nil
}

// URL is the server's redis:// URL.
func (s *Server) URL() string { return "redis://" + s.Addr }

// Client returns a new client on the server, closed when the test ends.
func (s *Server) Client(tb testing.TB) *goredis.Client {
	tb.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: s.Addr})
	tb.Cleanup(func() { _ = c.Close() })
	ping(tb, c)
	return c
}

// Kill stops the server with SIGKILL; Restart brings it back on the same port.
func (s *Server) Kill(tb testing.TB) {
	tb.Helper()
	if s.container != "" {
		_ = exec.Command("docker", "kill", s.container).Run()
		return
	}
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

// Restart kills the server and starts it again on the same address. Without AppendOnly all keys are
// gone afterwards, as after a crash of a cache-only Redis.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	s.Kill(tb)
	if s.container != "" {
		if out, err := exec.Command("docker", "start", s.container).CombinedOutput(); err != nil {
			tb.Fatalf("redistest: docker start: %v: %s", err, out)
		}
		s.waitReady(tb)
		return
	}
	s.startProcess(tb)
}

func (s *Server) startProcess(tb testing.TB) {
	tb.Helper()
	args := []string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--dir", s.dir,
		"--save", "",
		"--daemonize", "no",
		"--loglevel", "warning",
		"--logfile", filepath.Join(s.dir, "redis.log"),
	}
	if s.appendOnly {
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		args = append(args, "--appendonly", "no")
	}
	s.cmd = exec.Command(s.bin, args...)
	if err := s.cmd.Start(); err != nil {
		tb.Fatalf("redistest: start redis-server: %v", err)
	}
	s.waitReady(tb)
}

func (s *Server) stopProcess() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
	s.cmd = nil
}

func (s *Server) waitReady(tb testing.TB) {
	tb.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: s.Addr, MaxRetries: -1})
	defer func() { _ = c.Close() }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			tb.Fatalf("redistest: redis at %s not ready: %v\n%s", s.Addr, err, log)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var containers atomic.Int64

func (s *Server) startContainer(tb testing.TB) {
	tb.Helper()
	s.container = fmt.Sprintf("hydrakit-redistest-%d-%d", os.Getpid(), containers.Add(1))
	args := []string{"run", "-d", "--rm", "--name", s.container, "-p", "127.0.0.1::6379", "redis:7"}
	if s.appendOnly {
		args = append(args, "redis-server", "--appendonly", "yes", "--appendfsync", "always")
	}
	if out, err := exec.Command("docker", args...).CombinedOutput(); err != nil {
		tb.Fatalf("redistest: docker run: %v: %s", err, out)
	}
	tb.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", s.container).Run() })
	out, err := exec.Command("docker", "port", s.container, "6379/tcp").Output()
	if err != nil {
		tb.Fatalf("redistest: docker port: %v", err)
	}
	s.Addr = strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	s.waitReady(tb)
}

func dockerAnswers() bool {
	if _, err := exec.LookPath("docker"); err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, "docker", "info").Run() == nil
}

func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("redistest: free port: %v", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

func ping(tb testing.TB, c *goredis.Client) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		tb.Fatalf("redistest: ping %s: %v", c.Options().Addr, err)
	}
}

var names atomic.Int64

// Name returns a service name unique to this test process, for tests sharing a Redis via REDIS_URL.
func Name(base string) string {
	return fmt.Sprintf("%s-%d-%d", base, os.Getpid(), names.Add(1))
}

// Fleet returns a hydrakit.Client over rdb with options, closed when the test ends.
func Fleet(tb testing.TB, rdb goredis.UniversalClient, options ...hydrakit.Option) *hydrakit.Client {
	tb.Helper()
	c, err := hydrakit.NewClient(rdb, options...)
	if err != nil {
		tb.Fatalf("redistest: hydrakit.NewClient: %v", err)
	}
	tb.Cleanup(func() {
		if err := c.Close(); err != nil {
			tb.Errorf("redistest: hydrakit.Client.Close: %v", err)
		}
	})
	return c
}
