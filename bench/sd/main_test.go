// Package sd benchmarks sd/redis discovery on a real Redis: how fast an Instancer notices a graceful
// Deregister and a SIGKILLed instance (p50 and p99 in ms), and how many Redis commands discovery costs
// per second and per refresh, next to raw go-redis baselines measured in the same run: the bare
// PUBLISH → SUBSCRIBE delivery (the floor of the leave announcement), polling the presence key every
// 5 ms (the floor set by the TTL), and Node Hydra's SCAN-based lookup reimplemented on go-redis.
package sd

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/kit/sd"
	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/hydrakit/hydrakit"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
)

// childEnv, set to "<redis addr> <service>", turns the benchmark binary into a registered instance
// that runs until it is killed.
const childEnv = "HYDRAKIT_BENCH_SD_CHILD"

func TestMain(m *testing.M) {
	if v := os.Getenv(childEnv); v != "" {
		addr, svc, _ := strings.Cut(v, " ")
		hc, err := hydrakit.NewClient(goredis.NewClient(&goredis.Options{Addr: addr}))
		if err != nil {
			panic(err)
		}
		r, err := sdredis.NewRegistrar(hc, sdredis.Service{Name: svc, IP: "127.0.0.1", Port: 9}, nil, sdredis.RegistrarJanitorGrace(0))
		if err != nil {
			fmt.Println("error", err)
			os.Exit(2)
		}
		r.Register()
		fmt.Println("registered", r.ID())
		select {}
	}
	goleak.VerifyTestMain(m)
}

// stat is one command's line of INFO commandstats.
type stat struct{ calls, usec int64 }

// commandStats returns INFO commandstats by command.
func commandStats(tb testing.TB, c goredis.UniversalClient) map[string]stat {
	tb.Helper()
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		tb.Fatal(err)
	}
	stats := map[string]stat{}
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(line), "cmdstat_"), ":")
		if !ok {
			continue
		}
		var st stat
		for _, field := range strings.Split(rest, ",") {
			k, v, _ := strings.Cut(field, "=")
			n, _ := strconv.ParseInt(v, 10, 64)
			switch k {
			case "calls":
				st.calls = n
			case "usec":
				st.usec = n
			}
		}
		stats[name] = st
	}
	return stats
}

// connectionSetup are the commands a client sends to open a connection, and INFO itself: they are not
// part of what is measured.
var connectionSetup = map[string]bool{"info": true, "hello": true, "client|setinfo": true, "client|setname": true, "select": true, "auth": true}

// cost is what Redis did between two commandStats, connection setup excluded.
type cost struct {
	calls, usec int64
	by          map[string]int64 // calls by command
	usecBy      map[string]int64 // Redis CPU µs by command
}

func delta(before, after map[string]stat, only ...string) cost {
	c := cost{by: map[string]int64{}, usecBy: map[string]int64{}}
	for name, st := range after {
		if connectionSetup[name] || (len(only) > 0 && !slices.Contains(only, name)) {
			continue
		}
		if d := st.calls - before[name].calls; d > 0 {
			c.by[name] = d
			c.usecBy[name] = st.usec - before[name].usec
			c.calls += d
			c.usec += c.usecBy[name]
		}
	}
	return c
}

// String lists calls (and Redis µs) by command, sorted: "hmget=1(12us),mget=1(30us)".
func (c cost) String() string {
	var parts []string
	for name, n := range c.by {
		parts = append(parts, fmt.Sprintf("%s=%d(%dus)", name, n, c.usecBy[name]))
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

// percentile returns the p-th percentile (0..1) of durations, in milliseconds.
func percentile(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(p * float64(len(s)-1))
	return float64(s[i]) / float64(time.Millisecond)
}

// waitFor waits for an event whose instances satisfy ok and returns when it arrived.
func waitFor(tb testing.TB, ch chan sd.Event, timeout time.Duration, ok func([]string) bool) time.Time {
	tb.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev := <-ch:
			if ev.Err == nil && ok(ev.Instances) {
				return time.Now()
			}
		case <-deadline:
			tb.Fatalf("no expected event in %v", timeout)
		}
	}
}
