package redistest

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// The sentinel's settings: a primary that does not answer for sentinelDownAfter milliseconds is down
// (quorum 1: the one sentinel decides), and a failover that makes no progress for
// sentinelFailoverTimeout milliseconds is abandoned. sentinelPeriod shortens the sentinel's INFO and
// hello periods (SENTINEL DEBUG info-period and publish-period, 10 s and 2 s by default), so that it
// notices roles change, and turns a demoted primary into a replica, within about a second.
const (
	masterName              = "mymaster"
	sentinelDownAfter       = 2000
	sentinelFailoverTimeout = 5000
	sentinelPeriod          = 200
)

// Sentinel is a Sentinel-managed set owned by one test: a primary, one replica and one sentinel
// (redis-sentinel, or redis-server --sentinel when that is missing). It is stopped when the test ends.
type Sentinel struct {
	cfg      config
	pki      *pki
	nodes    []*Server // started as the primary and its replica
	sentinel *Server
}

// StartSentinel starts a primary, a replica of it and a sentinel monitoring it, and
// returns once the replica's link is up and the sentinel sees both, so that Failover can promote the
// replica at once. The sentinel monitors the primary as "mymaster". Start's options apply to both data nodes (TLS also to the sentinel; ACL users are
// created on the data nodes only).
func StartSentinel(tb testing.TB, options ...ServerOption) *Sentinel {
	tb.Helper()
	skipShort(tb)
	cfg := newConfig(options)
	if cfg.replicas >= 0 {
		tb.Fatal("redistest: ClusterReplicas is an option of StartCluster, not StartSentinel")
	}
	bin := lookBin(tb, "redis-server", "StartSentinel")
	sbin, smode := bin, []string{"--sentinel"}
	if b, err := exec.LookPath("redis-sentinel"); err == nil {
		sbin, smode = b, nil
	}
	dir := tb.TempDir()
	s := &Sentinel{cfg: cfg, pki: newPKI(tb, cfg.tls, dir)}
	for i, name := range []string{"primary", "replica"} {
		n := &Server{cfg: cfg, pki: s.pki, bin: bin, dir: filepath.Join(dir, name)}
		mkdir(tb, n.dir)
		if i > 0 {
			n.extra = []string{"--replicaof", "127.0.0.1", strconv.Itoa(s.nodes[0].port)}
		}
		n.start(tb)
		s.nodes = append(s.nodes, n)
	}

	sdir := filepath.Join(dir, "sentinel")
	mkdir(tb, sdir)
	conf := filepath.Join(sdir, "sentinel.conf")
	text := fmt.Sprintf("sentinel monitor %[1]s 127.0.0.1 %[2]d 1\n"+
		"sentinel down-after-milliseconds %[1]s %[3]d\n"+
		"sentinel failover-timeout %[1]s %[4]d\n",
		masterName, s.nodes[0].port, sentinelDownAfter, sentinelFailoverTimeout)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	s.sentinel = &Server{cfg: config{tls: cfg.tls}, pki: s.pki, bin: sbin, conf: conf, extra: smode, dir: sdir}
	s.sentinel.start(tb)

	rdb := goredis.NewClient(s.sentinel.Options())
	defer func() { _ = rdb.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Do(ctx, "SENTINEL", "DEBUG",
		"info-period", sentinelPeriod, "publish-period", sentinelPeriod).Err(); err != nil {
		tb.Fatalf("redistest: SENTINEL DEBUG: %v", err)
	}
	s.waitReplica(tb)
	return s
}

func mkdir(tb testing.TB, dir string) {
	tb.Helper()
	if err := os.Mkdir(dir, 0o700); err != nil {
		tb.Fatalf("redistest: %v", err)
	}
}

// MasterName is the name the sentinel monitors the primary under.
func (s *Sentinel) MasterName() string { return masterName }

// SentinelAddrs are the sentinels' host:port (one).
func (s *Sentinel) SentinelAddrs() []string { return []string{s.sentinel.Addr} }

// Nodes are the data nodes: the one started as primary, then the one started as its replica.
func (s *Sentinel) Nodes() []*Server { return s.nodes }

// URL is the set as redisurl reads it: redis+sentinel://127.0.0.1:port/mymaster (rediss+sentinel://
// with TLS).
func (s *Sentinel) URL() string {
	scheme := "redis+sentinel://"
	if s.pki != nil {
		scheme = "rediss+sentinel://"
	}
	return scheme + s.sentinel.Addr + "/" + masterName
}

// Options are go-redis failover options as the default user (over TLS with TLS, to the sentinel and
// to the data nodes).
func (s *Sentinel) Options() *goredis.FailoverOptions {
	return &goredis.FailoverOptions{MasterName: masterName, SentinelAddrs: s.SentinelAddrs(), TLSConfig: s.TLSConfig()}
}

// Client returns a new failover client (goredis.NewFailoverClient) as the default user, closed when
// the test ends: it asks the sentinel for the primary and follows it through a failover.
func (s *Sentinel) Client(tb testing.TB) *goredis.Client {
	tb.Helper()
	c := goredis.NewFailoverClient(s.Options())
	tb.Cleanup(func() { _ = c.Close() })
	ping(tb, c)
	return c
}

// ClientAs returns a new failover client logged in to the data nodes as the ACLUser called name,
// closed when the test ends. Like Server.ClientAs it does not ping.
func (s *Sentinel) ClientAs(tb testing.TB, name string) *goredis.Client {
	tb.Helper()
	u := s.cfg.user(tb, name)
	opts := s.Options()
	opts.Username, opts.Password = u.name, u.password
	c := goredis.NewFailoverClient(opts)
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// SentinelClient returns a new client on the sentinel itself, closed when the test ends.
func (s *Sentinel) SentinelClient(tb testing.TB) *goredis.SentinelClient {
	tb.Helper()
	c := goredis.NewSentinelClient(s.sentinel.Options())
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// TLSFiles are the set's PEM files (one CA and one server certificate for the nodes and the sentinel);
// all empty without TLS.
func (s *Sentinel) TLSFiles() TLSFiles {
	if s.pki == nil {
		return TLSFiles{}
	}
	return s.pki.files
}

// TLSConfig is a new client configuration for the nodes and the sentinel; nil without TLS.
func (s *Sentinel) TLSConfig() *tls.Config { return s.pki.clientConfig() }
