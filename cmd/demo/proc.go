package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// child is a demo process (a greeter or a worker): the demo binary run again with -role.
type child struct {
	role, name string
	fields     []string // what it printed after "ready"
	cmd        *exec.Cmd
	logPath    string
	exited     chan struct{} // closed once the process has been waited for
}

// spawn starts a child and waits for its "ready" line.
func (t *tour) spawn(ctx context.Context, role, name string) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	if t.logDir == "" {
		if t.logDir, err = os.MkdirTemp("", "hydrakit-demo-"); err != nil {
			return nil, err
		}
	}
	c := &child{role: role, name: name, exited: make(chan struct{})}
	c.logPath = filepath.Join(t.logDir, fmt.Sprintf("%s-%d.log", role, len(t.children)))
	logFile, err := os.Create(c.logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child has its own descriptor
	c.cmd = exec.Command(exe, append([]string{"-role", role, "-name", name}, t.redisArgs()...)...)
	c.cmd.Stderr = logFile
	if t.verbose {
		c.cmd.Stderr = io.MultiWriter(logFile, os.Stderr)
	}
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	t.children = append(t.children, c)

	ready := make(chan []string, 1)
	go func() { // ends when the child exits and its stdout closes
		defer close(c.exited)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) > 0 && f[0] == "ready" {
				select {
				case ready <- f[1:]:
				default:
				}
			}
		}
		_ = c.cmd.Wait()
	}()
	select {
	case c.fields = <-ready:
		return c, nil
	case <-c.exited:
		return nil, fmt.Errorf("%s exited before it was ready:\n%s", role, tail(c.logPath))
	case <-time.After(15 * time.Second):
		return nil, fmt.Errorf("%s not ready after 15 s:\n%s", role, tail(c.logPath))
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// redisArgs are the flags that make a child connect to the demo's Redis.
func (t *tour) redisArgs() []string {
	args := []string{"-redis", t.redis.URL}
	for _, f := range []struct{ name, file string }{{"-redis-ca", t.redis.CA}, {"-redis-cert", t.redis.Cert}, {"-redis-key", t.redis.Key}} {
		if f.file != "" {
			args = append(args, f.name, f.file)
		}
	}
	return args
}

// kill ends the child at once, as a crash or an OOM kill would: nothing is cleaned up.
func (c *child) kill() {
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.exited
}

// stop asks the child to shut down gracefully and waits for it.
func (c *child) stop() {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
		c.kill()
	}
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return "  " + strings.Join(lines, "\n  ")
}
