package integration

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit/internal/cli"
	"github.com/hydrakit/hydrakit/internal/redistest"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
)

// commandCalls returns INFO commandstats' calls per command, without INFO and CONFIG (the test's own).
func commandCalls(t *testing.T, rdb *goredis.Client) map[string]int {
	t.Helper()
	text := rdb.Info(t.Context(), "commandstats").Val()
	out := map[string]int{}
	for _, line := range strings.Split(text, "\r\n") {
		name, rest, ok := strings.Cut(strings.TrimPrefix(line, "cmdstat_"), ":calls=")
		if !ok || name == "info" || strings.HasPrefix(name, "config") {
			continue
		}
		n, _ := strconv.Atoi(strings.SplitN(rest, ",", 2)[0])
		out[name] = n
	}
	return out
}

// nodes, services and health read the fleet by name: with 100,000 unrelated keys in the DB they issue
// exactly the Redis commands they issue with none (INFO commandstats on a redis-server of the test's own).
func TestCLIReadsScaleWithFleetNotKeyspace(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	ctx := t.Context()
	// A static fleet of 3 services x 2 instances, written by hand so that nothing refreshes meanwhile.
	for s := range 3 {
		svc := fmt.Sprintf("svc-%d", s)
		rdb.Set(ctx, "hydra:service:"+svc+":service", `{"serviceName":"`+svc+`","type":"t","registeredOn":"2030-01-01T00:00:00.000Z"}`, 0)
		for i := range 2 {
			id := fmt.Sprintf("%031x%d", s, i)
			rdb.HSet(ctx, "hydra:service:nodes", id, `{"serviceName":"`+svc+`","instanceID":"`+id+`","updatedOn":"2030-01-01T00:00:00.000Z","ip":"127.0.0.1","port":1}`)
			rdb.Set(ctx, "hydra:service:"+svc+":"+id+":presence", id, 0)
			rdb.Set(ctx, "hydra:service:"+svc+":"+id+":health", `{"serviceName":"`+svc+`","instanceID":"`+id+`"}`, 0)
		}
	}
	measure := func() map[string]map[string]int {
		out := map[string]map[string]int{}
		for _, cmd := range []string{"nodes", "services", "health"} {
			if err := rdb.ConfigResetStat(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			env := cli.Env{ConfigDir: t.TempDir(), Getenv: func(string) string { return "" }}
			if code := env.Run(ctx, []string{"--redis", srv.URL() + "/0", cmd, "--json"}, &stdout, &stderr); code != 0 {
				t.Fatalf("%s: exit %d: %s", cmd, code, stderr.String())
			}
			out[cmd] = commandCalls(t, rdb)
		}
		return out
	}
	empty := measure()
	pipe := rdb.Pipeline()
	for i := range 100_000 {
		pipe.Set(ctx, fmt.Sprintf("unrelated:%d:service", i), "x", 0) // even keys that match Hydra's SCAN patterns
		if i%5000 == 4999 {
			if _, err := pipe.Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := rdb.DBSize(ctx).Val(); n < 100_000 {
		t.Fatalf("dbsize %d", n)
	}
	full := measure()
	for _, cmd := range []string{"nodes", "services", "health"} {
		if want, have := fmt.Sprint(empty[cmd]), fmt.Sprint(full[cmd]); want != have {
			t.Errorf("%s: commands with an empty DB %s, with 100,000 unrelated keys %s", cmd, want, have)
		}
		if _, scanned := full[cmd]["scan"]; scanned {
			t.Errorf("%s scanned the keyspace: %v", cmd, full[cmd])
		}
		t.Logf("%s: %v", cmd, full[cmd])
	}
}

// watch prints go-kit sd.Events as joins and leaves: the instances live at its start, then an instance
// that registers and deregisters.
func TestCLIWatch(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	hc := redistest.Fleet(t, rdb)
	first, err := sdredis.NewRegistrar(hc, sdredis.Service{Name: "watched", ID: "a0000000000000000000000000000000", IP: "127.0.0.1", Port: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	first.Register()
	defer first.Deregister()

	ctx, cancel := context.WithCancel(t.Context())
	var out syncBuffer
	done := make(chan int)
	env := cli.Env{ConfigDir: t.TempDir(), Getenv: func(string) string { return "" },
		Now: func() time.Time { return time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) }}
	go func() {
		var stderr bytes.Buffer
		done <- env.Run(ctx, []string{"--redis", srv.URL() + "/0", "watch", "--rescan", "50ms"}, &out, &stderr)
	}()
	waitOutput := func(want string) {
		t.Helper()
		if !redistest.Poll(func() bool { return strings.Contains(out.String(), want) }) {
			t.Fatalf("watch printed no %q:\n%s", want, out.String())
		}
	}
	waitOutput("instance=a0000000000000000000000000000000")

	second, err := sdredis.NewRegistrar(hc, sdredis.Service{Name: "watched", ID: "b0000000000000000000000000000000", IP: "127.0.0.1", Port: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	second.Register()
	waitOutput("event=join instance=b0000000000000000000000000000000")
	second.Deregister()
	waitOutput("event=leave instance=b0000000000000000000000000000000")
	other, err := sdredis.NewRegistrar(hc, sdredis.Service{Name: "later", ID: "c0000000000000000000000000000000", IP: "127.0.0.1", Port: 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	other.Register() // a service that appears after watch started: found by the rescan
	defer other.Deregister()
	waitOutput("service=later event=join")
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("watch exit %d", code)
	}
	want := `ts=2030-01-01T00:00:00Z service=watched event=join instance=a0000000000000000000000000000000 instances=1
ts=2030-01-01T00:00:00Z service=watched event=join instance=b0000000000000000000000000000000 instances=2
ts=2030-01-01T00:00:00Z service=watched event=leave instance=b0000000000000000000000000000000 instances=1
ts=2030-01-01T00:00:00Z service=later event=join instance=c0000000000000000000000000000000 instances=1
`
	if have := out.String(); want != have {
		t.Errorf("watch output:\n--- want\n%s--- have\n%s", want, have)
	}
}
