package redistest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
)

// Mini starts an in-process miniredis and returns it with a client on it; both end with the test.
// miniredis has no keyspace notifications and only advances TTLs through FastForward.
func Mini(tb testing.TB) (*miniredis.Miniredis, *goredis.Client) {
	tb.Helper()
	m := miniredis.RunT(tb)
	c := goredis.NewClient(&goredis.Options{Addr: m.Addr()})
	tb.Cleanup(func() { _ = c.Close() })
	return m, c
}

// Client returns a client on a real Redis: REDIS_URL when set, else a server of the test's own
// (see Start). The client is closed when the test ends.
func Client(tb testing.TB) *goredis.Client {
	tb.Helper()
	skipShort(tb)
	if url := os.Getenv("REDIS_URL"); url != "" {
		opts, err := goredis.ParseURL(url)
		if err != nil {
			tb.Fatalf("redistest: REDIS_URL: %v", err)
		}
		c := goredis.NewClient(opts)
		tb.Cleanup(func() { _ = c.Close() })
		ping(tb, c)
		return c
	}
	return Start(tb).Client(tb)
}

// skipShort skips a test that needs a real Redis under go test -short, which promises miniredis only
// (make test-short): a real server is what makes a test slow, and it may not be installed.
func skipShort(tb testing.TB) {
	tb.Helper()
	if testing.Short() {
		tb.Skip("needs a real Redis; skipped with -short")
	}
}

func dockerAnswers() bool {
	if _, err := exec.LookPath("docker"); err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, "docker", "info").Run() == nil
}

func ping(tb testing.TB, c *goredis.Client) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		tb.Fatalf("redistest: ping %s: %v", c.Options().Addr, err)
	}
}

var names atomic.Int64

// Name returns a service name unique to this test process, for tests sharing a Redis via REDIS_URL.
func Name(base string) string {
	return fmt.Sprintf("%s-%d-%d", base, os.Getpid(), names.Add(1))
}

// Fleet returns a hydrakit.Client over rdb with options, closed when the test ends.
func Fleet(tb testing.TB, rdb goredis.UniversalClient, options ...hydrakit.Option) *hydrakit.Client {
	tb.Helper()
	c, err := hydrakit.NewClient(rdb, options...)
	if err != nil {
		tb.Fatalf("redistest: hydrakit.NewClient: %v", err)
	}
	tb.Cleanup(func() {
		if err := c.Close(); err != nil {
			tb.Errorf("redistest: hydrakit.Client.Close: %v", err)
		}
	})
	return c
}
