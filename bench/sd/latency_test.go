package sd

import (
	"bufio"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-kit/kit/sd"
	"github.com/go-kit/log"

	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
)

// BenchmarkDeregisterToEvent measures Deregister → Instancer event, next to a raw PUBLISH → received
// message on the same Redis (x-raw is ours over raw, at p50).
func BenchmarkDeregisterToEvent(b *testing.B) {
	srv := redistest.Start(b)
	c := srv.Client(b)
	hc := redistest.Fleet(b, c)
	in, err := sdredis.NewInstancer(hc, "bench-leave", log.NewNopLogger())
	if err != nil {
		b.Fatal(err)
	}
	defer in.Stop()
	ch := make(chan sd.Event, 16)
	in.Register(ch)
	defer in.Deregister(ch)
	raw := c.Subscribe(b.Context(), "bench-raw")
	defer raw.Close()
	if _, err := raw.Receive(b.Context()); err != nil {
		b.Fatal(err)
	}
	rawMsgs := raw.Channel()

	var ours, floor []time.Duration
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		r, err := sdredis.NewRegistrar(hc, sdredis.Service{Name: "bench-leave", IP: "127.0.0.1", Port: 1}, nil, sdredis.RegistrarJanitorGrace(0))
		if err != nil {
			b.Fatal(err)
		}
		r.Register()
		waitFor(b, ch, 5*time.Second, func(s []string) bool { return len(s) == 1 })
		b.StartTimer()
		start := time.Now()
		r.Deregister()
		ours = append(ours, waitFor(b, ch, 5*time.Second, func(s []string) bool { return len(s) == 0 }).Sub(start))

		b.StopTimer()
		start = time.Now()
		c.Publish(b.Context(), "bench-raw", "x")
		<-rawMsgs
		floor = append(floor, time.Since(start))
		b.StartTimer()
	}
	b.ReportMetric(percentile(ours, 0.5), "p50-ms")
	b.ReportMetric(percentile(ours, 0.99), "p99-ms")
	b.ReportMetric(percentile(floor, 0.5), "raw-p50-ms")
	b.ReportMetric(percentile(ours, 0.5)/percentile(floor, 0.5), "x-raw")
}

// BenchmarkSIGKILLToEvent kills registered child processes (this binary, re-executed) with SIGKILL at
// staggered moments and measures kill → Instancer event, next to a raw go-redis poller that checks the
// presence key every 5 ms (the floor set by the 3 s TTL). One iteration kills 5 children (~5 s).
func BenchmarkSIGKILLToEvent(b *testing.B) {
	srv := redistest.Start(b)
	c := srv.Client(b)
	hc := redistest.Fleet(b, c)
	const children = 5
	var ours, floor []time.Duration
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		svc := redistest.Name("bench-kill")
		procs := make([]*exec.Cmd, children)
		ids := make([]string, children)
		for i := range procs {
			procs[i], ids[i] = startChild(b, srv.Addr, svc)
		}
		in, err := sdredis.NewInstancer(hc, svc, nil, sdredis.InstancerInstanceID())
		if err != nil {
			b.Fatal(err)
		}
		ch := make(chan sd.Event, 64)
		in.Register(ch)
		waitFor(b, ch, 5*time.Second, func(s []string) bool { return len(s) == children })
		b.StartTimer()

		killed := make([]time.Time, children)
		expired := make(chan time.Duration, children)
		for i, p := range procs {
			killed[i] = time.Now()
			_ = p.Process.Signal(syscall.SIGKILL)
			go func(key string, at time.Time) { // the raw floor: poll presence until it expires
				for c.Exists(b.Context(), key).Val() == 1 {
					time.Sleep(5 * time.Millisecond)
				}
				expired <- time.Since(at)
			}(keyspace.New().Presence(svc, ids[i]), killed[i])
			time.Sleep(200 * time.Millisecond)
		}
		gone := map[string]bool{}
		for len(gone) < children {
			var ev sd.Event
			select {
			case ev = <-ch:
			case <-time.After(10 * time.Second):
				b.Fatal("no event after SIGKILL")
			}
			at := time.Now()
			for i, id := range ids {
				if !gone[id] && !slices.Contains(ev.Instances, id) {
					gone[id] = true
					ours = append(ours, at.Sub(killed[i]))
				}
			}
		}
		for range children {
			floor = append(floor, <-expired)
		}
		b.StopTimer()
		in.Deregister(ch)
		in.Stop()
		for _, p := range procs {
			_ = p.Wait()
		}
		b.StartTimer()
	}
	b.ReportMetric(percentile(ours, 0.5), "p50-ms")
	b.ReportMetric(percentile(ours, 0.99), "p99-ms")
	b.ReportMetric(percentile(floor, 0.5), "raw-p50-ms")
	b.ReportMetric(percentile(ours, 0.5)/percentile(floor, 0.5), "x-raw")
}

func startChild(b *testing.B, addr, svc string) (*exec.Cmd, string) {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+addr+" "+svc)
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, _ := bufio.NewReader(out).ReadString('\n')
	id, ok := strings.CutPrefix(strings.TrimSpace(line), "registered ")
	if !ok {
		b.Fatalf("child: %q", line)
	}
	return cmd, id
}
