package redispubsub

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/kit/transport"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/umf"
)

func errorCounter(n *atomic.Int64) transport.ErrorHandler {
	return transport.ErrorHandlerFunc(func(context.Context, error) { n.Add(1) })
}

// clientsNamed counts the connections Redis has from clients named name (CLIENT LIST).
func clientsNamed(t *testing.T, admin *goredis.Client, name string) int {
	t.Helper()
	list, err := admin.ClientList(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(list, " name="+name+" ")
}

// Requests whose frm names a service (svc:/) that nobody runs, each a different one, cost the
// service a bounded lookup each: no connection, no goroutine and no state beyond the documented
// bounds is left behind, and valid requests keep being answered meanwhile.
func TestDistinctFrmServicesStayBounded(t *testing.T) {
	srv := redistest.Start(t)
	admin := srv.Client(t)
	opts := srv.Options()
	opts.ClientName = "bounded-svc"
	opts.PoolSize, opts.PipelinePoolSize = 20, 10
	rdb := goredis.NewClient(opts)
	defer rdb.Close()
	var replyFailures atomic.Int64
	server := newConn(t, rdb, "echo")
	server.Handle("/echo", serve(t, func(_ context.Context, req interface{}) (interface{}, error) { return req, nil },
		func(_ context.Context, m *umf.Message) (interface{}, error) { return m.Body, nil }, EncodeJSONResponse,
		SubscriberErrorHandler(errorCounter(&replyFailures))))
	caller := newConn(t, admin, "caller")
	valid := publisherEndpoint(t, caller, addr("echo", idOf(server), "/echo"), EncodeJSONRequest, nopDecoder)
	if _, err := valid(ctxTimeout(t, 5*time.Second), 1); err != nil {
		t.Fatal(err)
	}
	baseGoroutines, baseConns := runtime.NumGoroutine(), clientsNamed(t, admin, "bounded-svc")

	const flood = MaxLookups + 100 // past the cache's size, so that it evicts
	channel := keyspace.New().InstanceChannel("echo", idOf(server))
	for i := range flood {
		msg := fmt.Sprintf(`{"to":"%s@echo:/echo","frm":"nobody-%d:/","mid":"m-%d","bdy":%d}`, idOf(server), i, i, i)
		if err := admin.Publish(context.Background(), channel, msg).Err(); err != nil {
			t.Fatal(err)
		}
		if i%100 == 0 {
			if _, err := valid(ctxTimeout(t, 5*time.Second), i); err != nil {
				t.Fatalf("a valid request during the flood: %v", err)
			}
		}
	}
	// Every flood message was served (its reply found no instance of nobody-i) or refused as busy.
	eventually(t, "every flood message served or refused", func() bool {
		return uint64(replyFailures.Load())+server.Stats().Busy == flood
	})
	// Parked workers stay (up to maxIdle); everything else a flood message started has ended.
	bound := baseGoroutines + maxIdle + 4
	eventually(t, fmt.Sprintf("goroutines back under %d", bound), func() bool { return runtime.NumGoroutine() <= bound })
	// Lookups used the client's pools (commands and pipelines), whose sizes bound them; no
	// subscription was opened.
	if have, limit := clientsNamed(t, admin, "bounded-svc"), baseConns+opts.PoolSize+opts.PipelinePoolSize; have > limit {
		t.Errorf("want at most %d connections of the service, have %d (%d before)", limit, have, baseConns)
	}
	if have := func() int {
		server.lookups.mu.Lock()
		defer server.lookups.mu.Unlock()
		return server.lookups.lru.Len()
	}(); have > MaxLookups {
		t.Errorf("want at most %d lookups kept, have %d", MaxLookups, have)
	}
	if _, err := valid(ctxTimeout(t, 5*time.Second), 0); err != nil {
		t.Fatalf("a valid request after the flood: %v", err)
	}
	t.Logf("goroutines %d → %d (bound %d), connections %d → %d, busy %d",
		baseGoroutines, runtime.NumGoroutine(), bound, baseConns, clientsNamed(t, admin, "bounded-svc"), server.Stats().Busy)
}
