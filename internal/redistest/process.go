package redistest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// How long a process may take to answer its first PING, and to exit after SIGTERM.
const (
	readyTimeout = 15 * time.Second
	stopTimeout  = 5 * time.Second
)

// install says how to get the binaries; every start that lacks one fails the test with it.
const install = "install it: apt-get install -y redis-server redis-tools redis-sentinel (Debian, Ubuntu), " +
	"brew install redis (macOS)"

// lookBin finds a binary on PATH or fails the test saying how to install it. Never skips: a missing
// binary is a broken test machine, in CI and elsewhere.
func lookBin(tb testing.TB, name, needed string) string {
	tb.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		tb.Fatalf("redistest: %s needs %s on PATH, which has none; %s", needed, name, install)
	}
	return bin
}

// errPortTaken is a start that failed because another process had taken the port in the meantime.
var errPortTaken = errors.New("redistest: port taken")

// launch starts the process once with the current port and waits until it answers PING. It returns
// errPortTaken when the process exited because its port (or cluster bus port) was in use.
func (s *Server) launch() error {
	args := s.args()
	out, err := os.OpenFile(filepath.Join(s.dir, "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(s.bin, args...)
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = out, out // an *os.File: exec starts no copying goroutine
	setProcAttr(cmd)
	err = cmd.Start()
	_ = out.Close()
	if err != nil {
		return fmt.Errorf("redistest: start %s: %w", s.bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }() // ends when the process does; stop and Kill wait for it
	s.cmd, s.exited = cmd, exited
	return s.waitAnswering(exited)
}

// waitAnswering polls PING until the process answers, it exits, or readyTimeout passes.
func (s *Server) waitAnswering(exited <-chan struct{}) error {
	opts := s.Options()
	opts.MaxRetries = -1
	c := goredis.NewClient(opts)
	defer func() { _ = c.Close() }()
	deadline := time.NewTimer(readyTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var err error
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
		err = c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			s.cmd, s.exited = nil, nil
			logs := s.logTail()
			if strings.Contains(logs, "Address already in use") {
				return errPortTaken
			}
			return fmt.Errorf("redistest: %s exited at start:\n%s", filepath.Base(s.bin), logs)
		case <-deadline.C:
			return fmt.Errorf("redistest: %s at %s not answering after %v: %v\n%s",
				filepath.Base(s.bin), s.Addr, readyTimeout, err, s.logTail())
		case <-tick.C:
		}
	}
}

// logTail is the end of the process's log and of what it wrote to stdout and stderr.
func (s *Server) logTail() string {
	var b strings.Builder
	for _, name := range []string{"stdout.log", "redis.log"} {
		data, _ := os.ReadFile(filepath.Join(s.dir, name))
		if len(data) > 2000 {
			data = data[len(data)-2000:]
		}
		if len(data) > 0 {
			fmt.Fprintf(&b, "--- %s:\n%s", name, data)
		}
	}
	return b.String()
}

// stopProcess ends the process with SIGTERM (SIGKILL after stopTimeout) and waits until it has exited.
func (s *Server) stopProcess() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd, s.exited = nil, nil
}

// Ports come from [portLow, portHigh): below Linux's default ephemeral range (32768-60999), so that no
// outgoing connection takes one between our check and the server's bind, and low enough that the cluster
// bus port (port+10000) is below it too. A port handed out once is never handed out again by this test
// binary, so that a killed server can come back on its own port.
const (
	portLow  = 10000
	portHigh = 22768
	busIncr  = 10000
)

var ports = struct {
	sync.Mutex
	used map[int]bool
}{used: map[int]bool{}}

// freePort returns a loopback port that is free now (and, with bus, whose cluster bus port is too).
// Another process can still take it before the server binds: launch reports that as errPortTaken and
// the caller picks again.
func freePort(tb testing.TB, bus bool) int {
	tb.Helper()
	ports.Lock()
	defer ports.Unlock()
	for range 1000 {
		p := portLow + rand.IntN(portHigh-portLow)
		if ports.used[p] || (bus && ports.used[p+busIncr]) || !portFree(p) || (bus && !portFree(p+busIncr)) {
			continue
		}
		ports.used[p] = true
		if bus {
			ports.used[p+busIncr] = true
		}
		return p
	}
	tb.Fatalf("redistest: no free loopback port in [%d, %d)", portLow, portHigh)
	return 0
}

func portFree(p int) bool {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}
