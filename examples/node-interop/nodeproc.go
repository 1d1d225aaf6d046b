package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// nodeProcess is node/service.js running as a child process. Its stdout lines are printed and
// kept, for waitLine; its stderr goes to ours.
type nodeProcess struct {
	cmd   *exec.Cmd
	lines chan string   // stdout lines not yet looked at by waitLine
	done  chan struct{} // closed when stdout has ended
	seen  []string
}

func startNode(dir string, env []string, out, stderr io.Writer) (*nodeProcess, error) {
	cmd := exec.Command("node", "service.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	n := &nodeProcess{cmd: cmd, lines: make(chan string, 1024), done: make(chan struct{})}
	go n.read(stdout, out)
	return n, nil
}

func (n *nodeProcess) read(stdout io.Reader, out io.Writer) {
	defer close(n.done)
	defer close(n.lines)
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		fmt.Fprintln(out, sc.Text())
		select {
		case n.lines <- sc.Text():
		default: // nobody is waiting for that many lines; printing them is enough
		}
	}
}

// waitLine waits for a stdout line starting with prefix (earlier lines count too).
func (n *nodeProcess) waitLine(ctx context.Context, prefix string) error {
	for _, l := range n.seen {
		if strings.HasPrefix(l, prefix) {
			return nil
		}
	}
	for {
		select {
		case l, ok := <-n.lines:
			if !ok {
				return fmt.Errorf("node exited before printing %q", prefix)
			}
			n.seen = append(n.seen, l)
			if strings.HasPrefix(l, prefix) {
				return nil
			}
		case <-ctx.Done():
			return fmt.Errorf("no %q from node: %w", prefix, ctx.Err())
		}
	}
}

// stop sends SIGTERM (service.js shuts Hydra down, deregistering), kills it after 5 s, and
// waits for it. A clean exit after SIGTERM is the only success.
func (n *nodeProcess) stop() error {
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(5 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.done
	}
	return n.cmd.Wait()
}
