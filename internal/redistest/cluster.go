package redistest

import (
	"context"
	"crypto/tls"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// clusterNodeTimeout is each node's cluster-node-timeout in milliseconds: short, so that a killed
// master's replica takes over in a few seconds, long enough that a busy 2-core machine does not make a
// healthy node look failed.
const clusterNodeTimeout = 2000

// Cluster is a Redis Cluster of redis-server processes owned by one test: 3 masters sharing the 16384
// slots, each with ClusterReplicas replicas (none by default). It is stopped when the test ends.
type Cluster struct {
	cfg   config
	pki   *pki
	nodes []*Server
}

// ClusterReplicas gives each of StartCluster's 3 masters n replicas.
func ClusterReplicas(n int) ServerOption { return func(c *config) { c.replicas = n } }

// StartCluster starts 3 cluster-enabled redis-servers (and their replicas) on free loopback ports whose
// cluster bus ports (+10000) are free too, joins them with redis-cli --cluster create, and returns once
// every node reports cluster_state:ok with all 16384 slots assigned, every node knows every other, and
// every replica's link to its master is up. Start's options apply to every node.
func StartCluster(tb testing.TB, options ...ServerOption) *Cluster {
	tb.Helper()
	skipShort(tb)
	cfg := newConfig(options)
	replicas := max(cfg.replicas, 0)
	bin := lookBin(tb, "redis-server", "StartCluster")
	cli := lookBin(tb, "redis-cli", "StartCluster")
	dir := tb.TempDir()
	c := &Cluster{cfg: cfg, pki: newPKI(tb, cfg.tls, dir)}
	for i := range 3 * (1 + replicas) {
		n := &Server{cfg: cfg, pki: c.pki, bin: bin, bus: true, dir: filepath.Join(dir, fmt.Sprintf("node%d", i))}
		mkdir(tb, n.dir)
		n.extra = []string{
			"--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(n.dir, "nodes.conf"),
			"--cluster-node-timeout", strconv.Itoa(clusterNodeTimeout),
		}
		if c.pki != nil {
			n.extra = append(n.extra, "--tls-cluster", "yes")
		}
		n.start(tb)
		c.nodes = append(c.nodes, n)
	}
	c.create(tb, cli, replicas)
	c.waitHealthy(tb)
	return c
}

// create runs redis-cli --cluster create on the nodes.
func (c *Cluster) create(tb testing.TB, cli string, replicas int) {
	tb.Helper()
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	args = append(args, c.pki.cliArgs()...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		tb.Fatalf("redistest: redis-cli %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// waitHealthy polls every node until the cluster is whole, failing the test after 30 s.
func (c *Cluster) waitHealthy(tb testing.TB) {
	tb.Helper()
	clients := make([]*goredis.Client, len(c.nodes))
	for i, n := range c.nodes {
		clients[i] = goredis.NewClient(n.Options())
		defer func() { _ = clients[i].Close() }()
	}
	poll(tb, 30*time.Second, "cluster healthy", func(ctx context.Context) string {
		for i, rdb := range clients {
			if problem := c.unhealthy(ctx, rdb); problem != "" {
				return c.nodes[i].Addr + ": " + problem
			}
		}
		return ""
	})
}

// unhealthy says what is not yet as it should be on one node, or "".
func (c *Cluster) unhealthy(ctx context.Context, rdb *goredis.Client) string {
	info, err := rdb.ClusterInfo(ctx).Result()
	if err != nil {
		return "CLUSTER INFO: " + err.Error()
	}
	for _, want := range []string{
		"cluster_state:ok",
		"cluster_slots_assigned:16384",
		"cluster_known_nodes:" + strconv.Itoa(len(c.nodes)),
	} {
		if !strings.Contains(info, want+"\r\n") {
			return "no " + want + " in CLUSTER INFO"
		}
	}
	repl, err := rdb.Info(ctx, "replication").Result()
	if err != nil {
		return "INFO replication: " + err.Error()
	}
	if strings.Contains(repl, "role:slave") && !strings.Contains(repl, "master_link_status:up") {
		return "replica's link to its master not up"
	}
	return ""
}

// Nodes are every node, masters and replicas, in start order (the first 3 are the masters
// redis-cli chose, until a failover).
func (c *Cluster) Nodes() []*Server { return c.nodes }

// Addrs are every node's host:port.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		addrs[i] = n.Addr
	}
	return addrs
}

// Seeds are Addrs joined with commas, as the -redis flag takes a cluster.
func (c *Cluster) Seeds() string { return strings.Join(c.Addrs(), ",") }

// URL is the cluster as redisurl reads it: redis+cluster://h1:p1,h2:p2,... (rediss+cluster:// with TLS).
func (c *Cluster) URL() string {
	if c.pki != nil {
		return "rediss+cluster://" + c.Seeds()
	}
	return "redis+cluster://" + c.Seeds()
}

// Options are go-redis cluster options for every node as the default user, over TLS with TLS.
func (c *Cluster) Options() *goredis.ClusterOptions {
	return &goredis.ClusterOptions{Addrs: c.Addrs(), TLSConfig: c.TLSConfig()}
}

// Client returns a new cluster client as the default user, closed when the test ends, after a PING to
// every master.
func (c *Cluster) Client(tb testing.TB) *goredis.ClusterClient {
	tb.Helper()
	rdb := goredis.NewClusterClient(c.Options())
	tb.Cleanup(func() { _ = rdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rdb.ForEachMaster(ctx, func(ctx context.Context, m *goredis.Client) error {
		return m.Ping(ctx).Err()
	}); err != nil {
		tb.Fatalf("redistest: ping cluster: %v", err)
	}
	return rdb
}

// ClientAs returns a new cluster client logged in as the ACLUser called name, closed when the test
// ends. Like Server.ClientAs it does not ping.
func (c *Cluster) ClientAs(tb testing.TB, name string) *goredis.ClusterClient {
	tb.Helper()
	u := c.cfg.user(tb, name)
	opts := c.Options()
	opts.Username, opts.Password = u.name, u.password
	rdb := goredis.NewClusterClient(opts)
	tb.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// TLSFiles are the cluster's PEM files (one CA and one server certificate for every node); all empty
// without TLS.
func (c *Cluster) TLSFiles() TLSFiles {
	if c.pki == nil {
		return TLSFiles{}
	}
	return c.pki.files
}

// TLSConfig is a new client configuration for every node; nil without TLS.
func (c *Cluster) TLSConfig() *tls.Config { return c.pki.clientConfig() }
