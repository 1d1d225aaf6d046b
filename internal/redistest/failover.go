package redistest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// poll runs check every 25 ms until it reports no problem (""), failing the test with the last problem
// after timeout. Each check gets a second.
func poll(tb testing.TB, timeout time.Duration, what string, check func(ctx context.Context) string) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		problem := check(ctx)
		cancel()
		if problem == "" {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("redistest: %s: not done after %v: %s", what, timeout, problem)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// replication is a node's INFO replication as a map; nil when it does not answer.
func replication(ctx context.Context, n *Server) map[string]string {
	if n.cmd == nil {
		return nil
	}
	rdb := goredis.NewClient(n.Options())
	defer func() { _ = rdb.Close() }()
	info, err := rdb.Info(ctx, "replication").Result()
	if err != nil {
		return nil
	}
	fields := map[string]string{}
	for _, line := range strings.Split(info, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			fields[k] = v
		}
	}
	return fields
}

// waitReplica waits until the sentinel sees the primary and a replica it could promote: connected,
// its link to the primary up, and roles as the sentinel expects.
func (s *Sentinel) waitReplica(tb testing.TB) {
	tb.Helper()
	sc := goredis.NewSentinelClient(s.sentinel.Options())
	defer func() { _ = sc.Close() }()
	poll(tb, 30*time.Second, "sentinel sees a replica to promote", func(ctx context.Context) string {
		master, err := sc.Master(ctx, masterName).Result()
		if err != nil {
			return "SENTINEL MASTER: " + err.Error()
		}
		if master["flags"] != "master" {
			return "primary's flags: " + master["flags"]
		}
		replicas, err := sc.Replicas(ctx, masterName).Result()
		if err != nil {
			return "SENTINEL REPLICAS: " + err.Error()
		}
		for _, r := range replicas {
			if r["flags"] == "slave" && r["master-link-status"] == "ok" && r["role-reported"] == "slave" {
				return ""
			}
		}
		return fmt.Sprintf("no promotable replica among %v", replicas)
	})
}

// primaryAddr is the primary's address as the sentinel says.
func (s *Sentinel) primaryAddr(tb testing.TB) string {
	tb.Helper()
	sc := goredis.NewSentinelClient(s.sentinel.Options())
	defer func() { _ = sc.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	hp, err := sc.GetMasterAddrByName(ctx, masterName).Result()
	if err != nil || len(hp) != 2 {
		tb.Fatalf("redistest: SENTINEL GET-MASTER-ADDR-BY-NAME: %v %v", hp, err)
	}
	return hp[0] + ":" + hp[1]
}

func (s *Sentinel) node(tb testing.TB, addr string) *Server {
	tb.Helper()
	for _, n := range s.nodes {
		if n.Addr == addr {
			return n
		}
	}
	tb.Fatalf("redistest: the sentinel names %s, not a node of this set", addr)
	return nil
}

// Primary is the data node the sentinel names as primary now.
func (s *Sentinel) Primary(tb testing.TB) *Server {
	tb.Helper()
	return s.node(tb, s.primaryAddr(tb))
}

// Replica is the data node the sentinel does not name as primary now.
func (s *Sentinel) Replica(tb testing.TB) *Server {
	tb.Helper()
	if p := s.Primary(tb); p == s.nodes[0] {
		return s.nodes[1]
	}
	return s.nodes[0]
}

// Failover forces a failover with SENTINEL FAILOVER (first waiting, up to 30 s, until the sentinel
// sees a replica it can promote) and returns the new primary once the sentinel names it, it reports
// role:master, and the old primary, if running, reports role:slave of it with its link up: no node
// is left taking writes that the new primary will not see. Writes the replica had not received are
// lost, as with any asynchronous Redis replication (use WAIT to be sure they arrived). It takes about
// 2 s.
func (s *Sentinel) Failover(tb testing.TB) *Server {
	tb.Helper()
	old := s.Primary(tb)
	s.waitReplica(tb)
	sc := goredis.NewSentinelClient(s.sentinel.Options())
	defer func() { _ = sc.Close() }()
	poll(tb, 10*time.Second, "SENTINEL FAILOVER", func(ctx context.Context) string {
		if err := sc.Failover(ctx, masterName).Err(); err != nil {
			return err.Error() // INPROG or NOGOODSLAVE: try again
		}
		return ""
	})
	var primary *Server
	poll(tb, 30*time.Second, "sentinel promotes the replica", func(ctx context.Context) string {
		hp, err := sc.GetMasterAddrByName(ctx, masterName).Result()
		if err != nil || len(hp) != 2 {
			return fmt.Sprintf("GET-MASTER-ADDR-BY-NAME: %v %v", hp, err)
		}
		if addr := hp[0] + ":" + hp[1]; addr == old.Addr {
			return "sentinel still names " + addr
		}
		primary = s.node(tb, hp[0]+":"+hp[1])
		if role := replication(ctx, primary)["role"]; role != "master" {
			return fmt.Sprintf("new primary %s reports role %q", primary.Addr, role)
		}
		return ""
	})
	poll(tb, 30*time.Second, "old primary becomes a replica", func(ctx context.Context) string {
		if old.cmd == nil {
			return "" // killed by the test: it will be converted when it comes back
		}
		r := replication(ctx, old)
		if r["role"] != "slave" || r["master_port"] != strconv.Itoa(primary.port) || r["master_link_status"] != "up" {
			return fmt.Sprintf("old primary %s: role %q, master port %q, link %q",
				old.Addr, r["role"], r["master_port"], r["master_link_status"])
		}
		return ""
	})
	return primary
}
