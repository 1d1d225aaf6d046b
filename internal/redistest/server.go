package redistest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	goredis "github.com/redis/go-redis/v9"
)

// Server is a redis-server process (or container) owned by one test.
type Server struct {
	Addr string // host:port on loopback; the TLS port when started with TLS or MutualTLS

	cfg       config
	pki       *pki     // nil without TLS
	bin       string   // redis-server, or redis-sentinel for a Sentinel's own process
	conf      string   // a config file, first argument (a sentinel needs one it can rewrite)
	extra     []string // arguments after the common ones: cluster mode, replicaof, sentinel mode
	bus       bool     // a cluster node: port+10000 (the cluster bus) must be free too
	dir       string
	port      int
	cmd       *exec.Cmd
	exited    chan struct{} // closed when cmd has exited and been waited for
	container string
}

// ServerOption configures Start, StartCluster and StartSentinel; each option says which it applies to.
type ServerOption func(*config)

type config struct {
	appendOnly bool
	tls        tlsMode
	users      []aclUser
	replicas   int // StartCluster only; -1 when not given
}

func newConfig(options []ServerOption) config {
	c := config{replicas: -1}
	for _, o := range options {
		o(&c)
	}
	return c
}

// AppendOnly turns on append-only persistence with fsync on every write, so Restart keeps the data.
// It applies to every data node of every shape.
func AppendOnly() ServerOption { return func(c *config) { c.appendOnly = true } }

// Start starts a redis-server of the test's own on a free loopback port, whatever REDIS_URL says, for
// tests that stop, restart or kill Redis, or need TLS or ACL users. It is stopped when the test ends.
func Start(tb testing.TB, options ...ServerOption) *Server {
	tb.Helper()
	skipShort(tb)
	cfg := newConfig(options)
	if cfg.replicas >= 0 {
		tb.Fatal("redistest: ClusterReplicas is an option of StartCluster, not Start")
	}
	dir := tb.TempDir()
	if bin, err := exec.LookPath("redis-server"); err == nil {
		s := &Server{cfg: cfg, bin: bin, dir: dir, pki: newPKI(tb, cfg.tls, dir)}
		s.start(tb)
		return s
	}
	if cfg.tls == noTLS && dockerAnswers() {
		s := &Server{cfg: cfg, dir: dir}
		s.startContainer(tb)
		s.addUsers(tb)
		return s
	}
	tb.Fatal("redistest: Start needs redis-server on PATH, which has none, or a Docker daemon (not for TLS); " +
		install + "; redistest.Client also takes REDIS_URL=redis://host:port/db")
	return nil
}

// start picks a port and launches the process, picking again when another process took the port
// first. The process is stopped when the test ends, whether the start succeeded or not.
func (s *Server) start(tb testing.TB) {
	tb.Helper()
	tb.Cleanup(s.stopProcess)
	for attempt := 1; ; attempt++ {
		s.port = freePort(tb, s.bus)
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
		err := s.launch()
		if err == nil {
			break
		}
		if !errors.Is(err, errPortTaken) || attempt == 5 {
			tb.Fatalf("redistest: start %s: %v", s.bin, err)
		}
	}
	s.addUsers(tb)
}

// args are the process's command line for its current port.
func (s *Server) args() []string {
	var args []string
	if s.conf != "" {
		args = append(args, s.conf)
	}
	if s.pki == nil {
		args = append(args, "--port", strconv.Itoa(s.port))
	} else {
		args = append(args, "--port", "0", "--tls-port", strconv.Itoa(s.port))
		args = append(args, s.pki.serverArgs()...)
	}
	args = append(args,
		"--bind", "127.0.0.1",
		"--dir", s.dir,
		"--daemonize", "no",
		"--loglevel", "notice",
		"--logfile", filepath.Join(s.dir, "redis.log"),
	)
	if s.conf == "" { // a data node, not a sentinel
		// No snapshots; a replica's full sync starts at once instead of after 5 s.
		args = append(args, "--save", "", "--repl-diskless-sync-delay", "0")
		if s.cfg.appendOnly {
			args = append(args, "--appendonly", "yes", "--appendfsync", "always")
		} else {
			args = append(args, "--appendonly", "no")
		}
	}
	return append(args, s.extra...)
}

// URL is the server's redis:// URL, or its rediss:// URL with TLS (the CA is in TLSFiles).
func (s *Server) URL() string {
	if s.pki != nil {
		return "rediss://" + s.Addr
	}
	return "redis://" + s.Addr
}

// Options are go-redis options for the server as the default user: over TLS with the CA (and the
// client certificate under MutualTLS) when the server has TLS.
func (s *Server) Options() *goredis.Options {
	return &goredis.Options{Addr: s.Addr, TLSConfig: s.TLSConfig()}
}

// Client returns a new client on the server as the default user, closed when the test ends.
func (s *Server) Client(tb testing.TB) *goredis.Client {
	tb.Helper()
	c := goredis.NewClient(s.Options())
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
	if s.cmd != nil {
		_ = s.cmd.Process.Kill()
		<-s.exited
		s.cmd, s.exited = nil, nil
	}
}

// Restart kills the server and starts it again on the same address, with the same ACL users. Without
// AppendOnly all keys are gone afterwards, as after a crash of a cache-only Redis. A cluster node keeps
// its cluster configuration (nodes.conf) and rejoins.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	s.Kill(tb)
	if s.container != "" {
		if out, err := exec.Command("docker", "start", s.container).CombinedOutput(); err != nil {
			tb.Fatalf("redistest: docker start: %v: %s", err, out)
		}
		if err := s.waitAnswering(nil); err != nil {
			tb.Fatal(err)
		}
	} else if err := s.launch(); err != nil {
		tb.Fatalf("redistest: restart %s: %v", s.Addr, err)
	}
	s.addUsers(tb)
}

var containers atomic.Int64

func (s *Server) startContainer(tb testing.TB) {
	tb.Helper()
	s.container = fmt.Sprintf("hydrakit-redistest-%d-%d", os.Getpid(), containers.Add(1))
	args := []string{"run", "-d", "--rm", "--name", s.container, "-p", "127.0.0.1::6379", "redis:7"}
	if s.cfg.appendOnly {
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
	if err := s.waitAnswering(nil); err != nil {
		tb.Fatal(err)
	}
}
