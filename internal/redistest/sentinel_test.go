package redistest_test

import (
	"context"
	"testing"
	"time"

	"github.com/hydrakit/hydrakit/internal/redistest"
)

func TestSentinelFailover(t *testing.T) {
	t.Parallel()
	s := redistest.StartSentinel(t)
	if want, have := "redis+sentinel://"+s.SentinelAddrs()[0]+"/mymaster", s.URL(); want != have {
		t.Errorf("want URL %q, have %q", want, have)
	}
	ctx := context.Background()
	c := s.Client(t)
	first := s.Primary(t)
	if want, have := s.Nodes()[0], first; want != have {
		t.Fatalf("want the first node primary, have %s", have.Addr)
	}
	if err := c.Set(ctx, "before", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if want, have := int64(1), c.Wait(ctx, 1, time.Second).Val(); want != have {
		t.Fatalf("want the write on %d replica, have %d", want, have)
	}

	for round, want := range []*redistest.Server{s.Nodes()[1], s.Nodes()[0]} { // there and back
		start := time.Now()
		promoted := s.Failover(t)
		t.Logf("failover %d took %v", round+1, time.Since(start))
		if promoted != want || s.Primary(t) != want || s.Replica(t) == want {
			t.Fatalf("failover %d: want %s primary, have %s (sentinel: %s)", round+1, want.Addr, promoted.Addr, s.Primary(t).Addr)
		}
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := c.Set(wctx, "after", round, 0).Err()
		cancel()
		if err != nil {
			t.Fatalf("failover %d: write through the failover client: %v", round+1, err)
		}
		if want, have := "v", c.Get(ctx, "before").Val(); want != have {
			t.Errorf("failover %d: replicated key: want %q, have %q", round+1, want, have)
		}
		if want, have := int64(1), promoted.Client(t).Exists(ctx, "after").Val(); want != have {
			t.Errorf("failover %d: the write did not reach the new primary", round+1)
		}
	}
}

func TestSentinelMutualTLSWithACLUser(t *testing.T) {
	t.Parallel()
	s := redistest.StartSentinel(t, redistest.MutualTLS(),
		redistest.ACLUser("svc", "pw", "~app:*", "-@all", "+@connection", "+@read", "+@write"))
	if want, have := "rediss+sentinel://"+s.SentinelAddrs()[0]+"/mymaster", s.URL(); want != have {
		t.Errorf("want URL %q, have %q", want, have)
	}
	ctx := context.Background()
	c := s.ClientAs(t, "svc")
	if err := c.Set(ctx, "app:k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, "other", "v", 0).Err(); err == nil {
		t.Error("want a key outside the user's pattern refused")
	}
	if want, have := int64(1), s.Client(t).Wait(ctx, 1, time.Second).Val(); want != have {
		t.Fatalf("want the write on %d replica, have %d", want, have)
	}
	s.Failover(t)
	if want, have := "v", c.Get(ctx, "app:k").Val(); want != have {
		t.Errorf("after failover: want %q, have %q", want, have)
	}
	if log := s.Primary(t).ACLLog(t); len(log) != 0 {
		t.Errorf("want the new primary's ACL LOG empty, have %d entries", len(log))
	}
}
