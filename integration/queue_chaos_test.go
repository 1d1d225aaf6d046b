package integration

import (
	"bufio"
	"context"
	"io"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/queue"
	"github.com/hydrakit/hydrakit/umf"
)

// buildWorker builds examples/worker into a temporary directory.
func buildWorker(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "worker")
	if out, err := exec.Command("go", "build", "-o", bin, "../examples/worker").CombinedOutput(); err != nil {
		t.Fatalf("build worker: %v\n%s", err, out)
	}
	return bin
}

// chaosWorker is one examples/worker process whose "handled" log lines are counted.
type chaosWorker struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when its stdout ended
}

// handledLog counts, per mid, the "handled" lines of every worker process.
type handledLog struct {
	mu    sync.Mutex
	count map[string]int
}

func (h *handledLog) read(r io.Reader, done chan struct{}) {
	defer close(done)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, "msg=handled") {
			continue
		}
		i := strings.Index(line, "mid=")
		if i < 0 {
			continue
		}
		mid, _, _ := strings.Cut(line[i+4:], " ")
		h.mu.Lock()
		h.count[mid]++
		h.mu.Unlock()
	}
}

func (h *handledLog) distinct() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.count)
}

// TestQueueChaos: 10,000 messages, 4 worker processes SIGKILLed and restarted again and again, and
// Redis (append-only) restarted once: every message is handled at least once, none is lost, and
// duplicates are counted.
func TestQueueChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos test skipped in -short mode")
	}
	const total, procs, svc = 10000, 4, "chaos"
	bin := buildWorker(t)
	srv := redistest.Start(t, redistest.AppendOnly())
	c := srv.Client(t)
	hc := redistest.Fleet(t, c)
	producer, err := queue.NewProducer(hc)
	if err != nil {
		t.Fatal(err)
	}
	inspector, err := queue.NewInspector(hc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	mids := map[string]bool{}
	batch := make([]*umf.Message, 0, total)
	for i := range total {
		m, err := umf.New(svc+":/", "chaos-test:/", map[string]int{"n": i})
		if err != nil {
			t.Fatal(err)
		}
		mids[m.MID] = true
		batch = append(batch, m)
	}
	if err := producer.Enqueue(ctx, batch...); err != nil {
		t.Fatal(err)
	}

	log := &handledLog{count: map[string]int{}}
	start := func() *chaosWorker {
		cmd := exec.Command(bin, "-redis", srv.URL()+"/0", "-name", svc, "-workers", "4",
			"-work", "10ms", "-lease", "2s")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		w := &chaosWorker{cmd: cmd, done: make(chan struct{})}
		go log.read(stdout, w.done)
		return w
	}
	stop := func(w *chaosWorker, sig syscall.Signal) {
		_ = w.cmd.Process.Signal(sig)
		<-w.done
		_ = w.cmd.Wait()
	}
	workers := make([]*chaosWorker, procs)
	for i := range workers {
		workers[i] = start()
	}
	defer func() {
		for _, w := range workers {
			stop(w, syscall.SIGKILL)
		}
	}()

	kills, restartedRedis := 0, false
	deadline := time.Now().Add(75 * time.Second)
	for {
		s, err := inspector.Stats(ctx, svc)
		if err == nil && log.distinct() == total && s.Received+s.InProgress+s.Leased+s.Delayed == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %d kills: %d of %d messages handled; queue %+v (err %v)", kills, log.distinct(), total, s, err)
		}
		if !restartedRedis && log.distinct() > total/2 {
			restartedRedis = true
			srv.Restart(t)
			t.Logf("Redis restarted with %d messages handled", log.distinct())
		}
		if log.distinct() < total { // keep killing while there is work
			i := rand.IntN(procs)
			stop(workers[i], syscall.SIGKILL)
			kills++
			workers[i] = start()
		}
		time.Sleep(time.Duration(200+rand.IntN(300)) * time.Millisecond)
	}
	for i, w := range workers {
		stop(w, syscall.SIGTERM)
		if code := w.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("worker %d exited %d after SIGTERM", i, code)
		}
	}
	workers = nil

	duplicates, unknown := 0, 0
	for mid, n := range log.count {
		if !mids[mid] {
			unknown++
		}
		duplicates += n - 1
	}
	s, err := inspector.Stats(ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("chaos: %d messages, %d SIGKILLs, Redis restarted: %v, handled %d times in all, %d duplicates",
		total, kills, restartedRedis, total+duplicates, duplicates)
	if want, have := total, len(log.count); want != have || unknown != 0 {
		t.Fatalf("want %d distinct messages handled, have %d (%d unknown)", want, have, unknown)
	}
	if s != (queue.Stats{}) {
		t.Fatalf("queue not empty at the end: %+v", s)
	}
	if !restartedRedis || kills < 5 {
		t.Fatalf("not enough chaos: %d kills, Redis restarted %v", kills, restartedRedis)
	}
}
