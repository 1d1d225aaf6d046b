package redisurl_test

import (
	"context"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/redisurl"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// client builds a client with NewClient, closed when the test ends.
func client(t *testing.T, addr string, options ...redisurl.Option) goredis.UniversalClient {
	t.Helper()
	rdb, err := redisurl.NewClient(addr, options...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// roundTrip writes and reads a few keys through rdb.
func roundTrip(t *testing.T, rdb goredis.UniversalClient, prefix string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, k := range []string{"a", "b", "c", "d", "e", "f"} {
		if err := rdb.Set(ctx, prefix+k, k, 0).Err(); err != nil {
			t.Fatalf("SET %s%s: %v", prefix, k, err)
		}
		if want, have := k, rdb.Get(ctx, prefix+k).Val(); want != have {
			t.Fatalf("GET %s%s: want %q, have %q", prefix, k, want, have)
		}
	}
}

// refused says whether a PING through a client built from addr and options fails.
func refused(t *testing.T, addr string, options ...redisurl.Option) bool {
	t.Helper()
	rdb := client(t, addr, options...)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return rdb.Ping(ctx).Err() != nil
}

func TestSingle(t *testing.T) {
	s := redistest.Start(t, redistest.ACLUser("svc", "p@ss/w:rd", "~app:*", "-@all", "+@connection", "+@read", "+@write"))
	rdb := client(t, s.URL())
	if _, ok := rdb.(*goredis.Client); !ok {
		t.Fatalf("want a *goredis.Client, have %T", rdb)
	}
	roundTrip(t, rdb, "")

	// The password as written, and percent-encoded.
	for _, userinfo := range []string{"svc:p@ss/w:rd@", "svc:p%40ss%2Fw%3Ard@"} {
		rdb := client(t, "redis://"+userinfo+s.Addr)
		if err := rdb.Do(context.Background(), "ACL", "WHOAMI").Err(); err == nil {
			t.Errorf("want ACL WHOAMI (not granted) refused to svc")
		}
		roundTrip(t, rdb, "app:")
	}
	refusals := int64(0)
	for _, e := range s.ACLLog(t) { // Redis counts repeats of one refusal in one entry
		refusals += e.Count
	}
	if want, have := int64(2), refusals; want != have {
		t.Errorf("want the %d refused ACL WHOAMI in ACL LOG, have %d", want, have)
	}
	if !refused(t, "redis://svc:wrong@"+s.Addr) {
		t.Error("want a wrong password refused")
	}
}

func TestTLS(t *testing.T) {
	s := redistest.Start(t, redistest.TLS())
	roundTrip(t, client(t, s.URL(), redisurl.CAFile(s.TLSFiles().CACert)), "")
	if !refused(t, s.URL()) {
		t.Error("want the private CA's certificate not trusted without CAFile")
	}
}

func TestMutualTLS(t *testing.T) {
	s := redistest.Start(t, redistest.MutualTLS())
	files := s.TLSFiles()
	roundTrip(t, client(t, s.URL(), redisurl.CAFile(files.CACert), redisurl.ClientCert(files.ClientCert, files.ClientKey)), "")
	if !refused(t, s.URL(), redisurl.CAFile(files.CACert)) {
		t.Error("want a client without a certificate refused")
	}
}

func TestCluster(t *testing.T) {
	t.Parallel()
	c := redistest.StartCluster(t)
	for _, addr := range []string{c.Seeds(), c.URL(), "redis+cluster://" + c.Addrs()[1]} {
		rdb := client(t, addr)
		if _, ok := rdb.(*goredis.ClusterClient); !ok {
			t.Fatalf("%s: want a *goredis.ClusterClient, have %T", addr, rdb)
		}
		roundTrip(t, rdb, "")
	}
}

func TestClusterMutualTLS(t *testing.T) {
	t.Parallel()
	c := redistest.StartCluster(t, redistest.MutualTLS())
	files := c.TLSFiles()
	rdb := client(t, c.URL(), redisurl.CAFile(files.CACert), redisurl.ClientCert(files.ClientCert, files.ClientKey))
	roundTrip(t, rdb, "")
	if !refused(t, c.URL(), redisurl.CAFile(files.CACert)) {
		t.Error("want a client without a certificate refused")
	}
}

func TestSentinel(t *testing.T) {
	t.Parallel()
	s := redistest.StartSentinel(t)
	rdb := client(t, s.URL())
	roundTrip(t, rdb, "")
	ctx := context.Background()
	if want, have := int64(1), rdb.Do(ctx, "WAIT", 1, 1000).Val(); want != have {
		t.Fatalf("want the writes on %d replica, have %d", want, have)
	}
	s.Failover(t)
	if want, have := "a", rdb.Get(ctx, "a").Val(); want != have {
		t.Errorf("after failover: want %q, have %q", want, have)
	}
	roundTrip(t, rdb, "after:")

	// Sentinels with a password of their own: SentinelAuth.
	sc := s.SentinelClient(t)
	if err := sc.Process(ctx, goredis.NewStatusCmd(ctx, "ACL", "SETUSER", "default", "resetpass", ">sentinel-pw")); err != nil {
		t.Fatalf("require a password on the sentinel: %v", err)
	}
	if !refused(t, s.URL()) {
		t.Error("want the sentinel to refuse a client without its password")
	}
	roundTrip(t, client(t, s.URL(), redisurl.SentinelAuth("", "sentinel-pw")), "auth:")
}

func TestSentinelMutualTLSWithUser(t *testing.T) {
	t.Parallel()
	s := redistest.StartSentinel(t, redistest.MutualTLS(),
		redistest.ACLUser("svc", "pw", "~app:*", "-@all", "+@connection", "+@read", "+@write"))
	files := s.TLSFiles()
	addr := "rediss+sentinel://svc:pw@" + s.SentinelAddrs()[0] + "/" + s.MasterName() + "/0"
	rdb := client(t, addr, redisurl.CAFile(files.CACert), redisurl.ClientCert(files.ClientCert, files.ClientKey))
	roundTrip(t, rdb, "app:")
	s.Failover(t)
	roundTrip(t, rdb, "app:after:")
	if log := s.Primary(t).ACLLog(t); len(log) != 0 {
		t.Errorf("want an empty ACL LOG, have %d entries", len(log))
	}
}
