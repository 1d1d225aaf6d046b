package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hydrakit/hydrakit/internal/redistest"
	goredis "github.com/redis/go-redis/v9"
)

// nodePeer is a real Node Hydra service (integration/node/peer.js) that a test drives over
// stdin/stdout JSON lines. It is stopped when the test ends.
type nodePeer struct {
	t          testing.TB
	cmd        *exec.Cmd
	stdin      io.WriteCloser
	InstanceID string

	mu      sync.Mutex
	nextID  int
	pending map[int]chan peerAnswer
	events  chan peerEvent
	done    chan struct{} // closed when the reader has seen stdout end
}

type peerAnswer struct {
	Result json.RawMessage `json:"result"`
	Error  string          `json:"error"`
}

type peerEvent struct {
	Event      string          `json:"event"`
	InstanceID string          `json:"instanceID"`
	Msg        json.RawMessage `json:"msg"`
	Entry      json.RawMessage `json:"entry"`
	Error      string          `json:"error"`
}

// requireNode skips when node or the npm packages are missing, except in CI, where it fails.
func requireNode(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the Node Hydra peer; skipped with -short")
	}
	dir, _ := filepath.Abs("node")
	_, errNode := exec.LookPath("node")
	_, errMod := os.Stat(filepath.Join(dir, "node_modules", "hydra"))
	if errNode != nil || errMod != nil {
		msg := "Node Hydra peer unavailable: install node and run `npm ci` in integration/node (make test does)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dir
}

// startNodePeer starts a Node Hydra service named service on the Redis at redisURL
// (redis://127.0.0.1:port/db) and waits until it has registered. extraEnv adds PEER_* settings.
func startNodePeer(t testing.TB, redisURL, service string, extraEnv ...string) *nodePeer {
	t.Helper()
	dir := requireNode(t)
	cmd := exec.Command("node", "peer.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PEER_SERVICE="+service, "PEER_REDIS_URL="+redisURL)
	cmd.Env = append(cmd.Env, extraEnv...)
	return launchNodePeer(t, cmd)
}

// launchNodePeer starts cmd, a Node script speaking peer.js's line protocol, and waits until it says
// it is ready. The process is stopped when the test ends.
func launchNodePeer(t testing.TB, cmd *exec.Cmd) *nodePeer {
	t.Helper()
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &nodePeer{
		t: t, cmd: cmd, stdin: stdin,
		pending: map[int]chan peerAnswer{},
		events:  make(chan peerEvent, 1024),
		done:    make(chan struct{}),
	}
	go p.read(stdout)
	t.Cleanup(p.stop)
	p.InstanceID = p.WaitEvent("ready", 20*time.Second).InstanceID
	return p
}

func (p *nodePeer) read(stdout io.Reader) {
	defer close(p.done)
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 8<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var probe struct {
			ID *int `json:"id"`
		}
		if json.Unmarshal(line, &probe) == nil && probe.ID != nil {
			var a peerAnswer
			_ = json.Unmarshal(line, &a)
			p.mu.Lock()
			ch := p.pending[*probe.ID]
			delete(p.pending, *probe.ID)
			p.mu.Unlock()
			if ch != nil {
				ch <- a
			}
			continue
		}
		var ev peerEvent
		if err := json.Unmarshal(line, &ev); err != nil {
			continue
		}
		select {
		case p.events <- ev:
		default: // a test that ignores events must not block the peer
		}
	}
}

// Op runs a peer op and returns its JSON result.
func (p *nodePeer) Op(op string, args any) (json.RawMessage, error) {
	p.mu.Lock()
	p.nextID++
	id := p.nextID
	ch := make(chan peerAnswer, 1)
	p.pending[id] = ch
	p.mu.Unlock()
	line, err := json.Marshal(map[string]any{"id": id, "op": op, "args": args})
	if err != nil {
		return nil, err
	}
	if _, err := p.stdin.Write(append(line, '\n')); err != nil {
		return nil, fmt.Errorf("node peer: write: %w", err)
	}
	select {
	case a := <-ch:
		if a.Error != "" {
			return nil, fmt.Errorf("node peer: %s", a.Error)
		}
		return a.Result, nil
	case <-p.done:
		return nil, fmt.Errorf("node peer exited")
	case <-time.After(20 * time.Second):
		return nil, fmt.Errorf("node peer: op %s timed out", op)
	}
}

// Call invokes a public hydra method (hydra.method(...args)) and returns its JSON result.
func (p *nodePeer) Call(method string, args ...any) (json.RawMessage, error) {
	if args == nil {
		args = []any{}
	}
	return p.Op("call", map[string]any{"method": method, "args": args})
}

// MustCall is Call that fails the test on error.
func (p *nodePeer) MustCall(method string, args ...any) json.RawMessage {
	p.t.Helper()
	r, err := p.Call(method, args...)
	if err != nil {
		p.t.Fatalf("%s: %v", method, err)
	}
	return r
}

// WaitEvent returns the next event of the given kind, failing the test after timeout.
func (p *nodePeer) WaitEvent(kind string, timeout time.Duration) peerEvent {
	p.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev := <-p.events:
			if ev.Event == "fatal" {
				p.t.Fatalf("node peer died: %s", ev.Error)
			}
			if ev.Event == kind {
				return ev
			}
		case <-p.done:
			p.t.Fatalf("node peer exited while waiting for %q", kind)
		case <-deadline:
			p.t.Fatalf("node peer: no %q event in %v", kind, timeout)
		}
	}
}

// Kill ends the peer with SIGKILL, as a crash would.
func (p *nodePeer) Kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
	_ = p.cmd.Wait()
}

func (p *nodePeer) stop() {
	_ = p.stdin.Close() // peer.js shuts hydra down and exits when stdin closes
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	_ = p.cmd.Wait()
}

// waitSubscribed waits until some client is subscribed to channel (PUBSUB NUMSUB): Node Hydra
// registers before its subscriptions are confirmed, so a peer that says it is ready may not hear a
// message sent at once.
func waitSubscribed(t testing.TB, rdb *goredis.Client, channel string) {
	t.Helper()
	redistest.Eventually(t, "a subscriber to "+channel, func() bool {
		return rdb.PubSubNumSub(t.Context(), channel).Val()[channel] > 0
	})
}
