package balancer

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/kit/sd"
	goredis "github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker"

	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/transport/redispubsub"
	"github.com/hydrakit/hydrakit/transport/redispubsub/internal/conninfo"
	"github.com/hydrakit/hydrakit/umf"
)

// named is a second client on rdb's server whose connections carry name, so that a test can kill them.
func named(t *testing.T, rdb *goredis.Client, name string) *goredis.Client {
	t.Helper()
	opts := *rdb.Options()
	opts.ClientName = name
	c := goredis.NewClient(&opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// killSubscription kills the pub/sub connections named name, and only those.
func killSubscription(t *testing.T, rdb *goredis.Client, name string) {
	t.Helper()
	ctx := context.Background()
	list, err := rdb.ClientList(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	killed := 0
	for _, line := range strings.Split(list, "\n") {
		fields := map[string]string{}
		for _, f := range strings.Fields(line) {
			k, v, _ := strings.Cut(f, "=")
			fields[k] = v
		}
		if fields["name"] == name && (fields["sub"] != "0" || fields["ssub"] != "" && fields["ssub"] != "0") {
			if err := rdb.ClientKillByFilter(ctx, "ID", fields["id"]).Err(); err != nil {
				t.Fatal(err)
			}
			killed++
		}
	}
	if killed == 0 {
		t.Fatalf("no subscription named %s in %s", name, list)
	}
}

// opens counts the breakers that opened.
type opens struct{ n atomic.Int32 }

func (o *opens) settings(trip uint32) Option {
	return Breaker(func(instance string) gobreaker.Settings {
		return gobreaker.Settings{
			Name:          instance,
			ReadyToTrip:   func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= trip },
			OnStateChange: func(_ string, _, to gobreaker.State) { o.n.Add(map[bool]int32{true: 1}[to == gobreaker.StateOpen]) },
		}
	})
}

// resubscribed returns a channel that receives after every resubscription of conn, after the
// balancers made before have reset their breakers.
func resubscribed(t *testing.T, conn *redispubsub.Conn) <-chan struct{} {
	ch := make(chan struct{}, 8)
	t.Cleanup(conninfo.OnResubscribe(conn, func() { ch <- struct{}{} }))
	return ch
}

func await(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// The caller's own failures never open an instance's breaker: its context ending, and its
// subscription lost with a request in flight (ErrConnectionLost).
func TestBreakersIgnoreTheCallersOwnFailures(t *testing.T) {
	rdb := redistest.Client(t)
	caller := newConn(t, named(t, rdb, "the-caller"), "caller", keyspace.NewInstanceID())
	id := keyspace.NewInstanceID()
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	defer close(release)
	hang := newConn(t, rdb, "calc", id)
	hang.HandleDefault(func(ctx context.Context, _ *redispubsub.Conn, _ *umf.Message) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
		}
	})
	var o opens
	e := newBalancer(t, caller, withInstancer(sd.FixedInstancer{id}), Attempts(1), Timeout(10*time.Second), o.settings(1)).Endpoint()
	up := resubscribed(t, caller)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := e(ctx, sumRequest{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("the caller's deadline: want DeadlineExceeded, have %v", err)
	}
	<-arrived

	res := make(chan error, 1)
	go func() { _, err := e(context.Background(), sumRequest{}); res <- err }()
	<-arrived
	killSubscription(t, rdb, "the-caller")
	if err := <-res; !errors.Is(err, redispubsub.ErrConnectionLost) {
		t.Errorf("the caller's subscription lost: want ErrConnectionLost, have %v", err)
	}
	await(t, up, "the caller to resubscribe")
	if n := o.n.Load(); n != 0 {
		t.Errorf("%d breakers opened on the caller's own failures", n)
	}
}

// A breaker that opened closes again as soon as the caller has resubscribed after a loss: what
// failed while it was down tells nothing about the instances.
func TestBreakersCloseWhenTheCallerResubscribes(t *testing.T) {
	rdb := redistest.Client(t)
	caller := newConn(t, named(t, rdb, "the-caller"), "caller", keyspace.NewInstanceID())
	id := keyspace.NewInstanceID()
	silent := newConn(t, rdb, "calc", id)
	silent.HandleDefault(func(context.Context, *redispubsub.Conn, *umf.Message) {}) // never replies
	var o opens
	e := newBalancer(t, caller, withInstancer(sd.FixedInstancer{id}), Attempts(1), o.settings(1),
		PublisherOptions(redispubsub.PublisherTimeout(100*time.Millisecond))).Endpoint()
	up := resubscribed(t, caller)

	if _, err := e(context.Background(), sumRequest{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a silent instance: want DeadlineExceeded, have %v", err)
	}
	if _, err := e(context.Background(), sumRequest{}); !errors.Is(err, gobreaker.ErrOpenState) {
		t.Fatalf("after a timeout: want the breaker open, have %v", err)
	}
	killSubscription(t, rdb, "the-caller")
	await(t, up, "the caller to resubscribe")
	if _, err := e(context.Background(), sumRequest{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("after the resubscription: want the breaker closed (a call, DeadlineExceeded), have %v", err)
	}
}
