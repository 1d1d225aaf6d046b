package redis

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/hydrakit/hydrakit/internal/redistest"
)

// logEvents is a logger that hands every line's msg and err to the test, which waits on them.
func logEvents() (log.Logger, <-chan string) {
	lines := make(chan string, 256)
	return log.LoggerFunc(func(kv ...any) error {
		var msg, err string
		for i := 0; i+1 < len(kv); i += 2 {
			switch kv[i] {
			case "msg":
				msg = fmt.Sprint(kv[i+1])
			case "err":
				err = fmt.Sprint(kv[i+1])
			}
		}
		select {
		case lines <- msg + ": " + err:
		default:
		}
		return nil
	}), lines
}

// waitLog returns the first logged line starting with msg, failing the test after failAfter.
func waitLog(t *testing.T, lines <-chan string, msg string) string {
	t.Helper()
	deadline := time.After(failAfter)
	for {
		select {
		case l := <-lines:
			if strings.HasPrefix(l, msg+": ") {
				return l
			}
		case <-deadline:
			t.Fatalf("no log line %q", msg)
		}
	}
}

// Every write of a refresh is checked, not only the first: on a Redis Cluster whose shard holding
// the nodes hash is out of memory, the presence key (a new key, so SET ... GET gives nil) is written
// but the nodes entry is not, and the instance is invisible. The Registrar must say so and keep
// trying, and register once the shard takes writes again.
func TestRegistrarSeesEveryFailedWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a real Redis Cluster")
	}
	cluster := redistest.StartCluster(t)
	client := redistest.Fleet(t, cluster.Client(t))
	keys := client.Keyspace()
	full := cluster.NodeForKey(t, keys.Nodes())
	svc := ""
	for i := 0; svc == ""; i++ {
		if name := "oom" + strconv.Itoa(i); cluster.NodeForKey(t, keys.Presence(name, "x")) != full {
			svc = name
		}
	}
	admin := full.Client(t)
	check(t, admin.ConfigSet(t.Context(), "maxmemory-policy", "noeviction").Err())
	check(t, admin.ConfigSet(t.Context(), "maxmemory", "1").Err())

	logger, lines := logEvents()
	r, err := NewRegistrar(client, Service{Name: svc, IP: "10.0.0.1", Port: 1}, logger,
		RegistrarRefreshInterval(100*time.Millisecond), RegistrarTTL(time.Second), RegistrarJanitorGrace(0))
	if err != nil {
		t.Fatal(err)
	}
	r.Register()
	t.Cleanup(r.Deregister)
	if l := waitLog(t, lines, "register failed; retrying"); !strings.Contains(l, "OOM") {
		t.Errorf("want the shard's OOM error, have %q", l)
	}

	check(t, admin.ConfigSet(t.Context(), "maxmemory", "0").Err())
	waitLog(t, lines, "re-registered")
	if n, err := admin.HExists(t.Context(), keys.Nodes(), r.ID()).Result(); err != nil || !n {
		t.Errorf("nodes entry missing after recovery: %v %v", n, err)
	}
}
