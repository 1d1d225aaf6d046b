package integration

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/transport/redispubsub"
	"github.com/hydrakit/hydrakit/transport/redispubsub/balancer"
	"github.com/hydrakit/hydrakit/umf"
)

// outcome is one finished call of traffic.
type outcome struct {
	start, end time.Time
	err        error
}

// traffic keeps calls of e going from 4 goroutines until stop, and reports every outcome in order of
// completion. After a failure a goroutine waits 10 ms, so that a Redis that is down is not spun on.
type traffic struct {
	mu       sync.Mutex
	outcomes []outcome
	ok       chan outcome // every successful call (dropped when full)
	stop     chan struct{}
	wg       sync.WaitGroup
}

func startTraffic(t *testing.T, e func(context.Context, interface{}) (interface{}, error)) *traffic {
	t.Helper()
	tr := &traffic{ok: make(chan outcome, 1024), stop: make(chan struct{})}
	for g := range 4 {
		tr.wg.Add(1)
		go func() {
			defer tr.wg.Done()
			for i := 0; ; i++ {
				select {
				case <-tr.stop:
					return
				default:
				}
				start := time.Now()
				v, err := e(context.Background(), sumReq{A: g, B: i})
				if err == nil && v.(int) != g+i {
					t.Errorf("wrong sum %v for %d+%d", v, g, i)
				}
				end := time.Now()
				tr.mu.Lock()
				tr.outcomes = append(tr.outcomes, outcome{start, end, err})
				tr.mu.Unlock()
				if err == nil {
					select {
					case tr.ok <- outcome{start, end, nil}:
					default:
					}
					continue
				}
				select {
				case <-tr.stop:
					return
				case <-time.After(10 * time.Millisecond):
				}
			}
		}()
	}
	t.Cleanup(tr.halt)
	return tr
}

func (tr *traffic) halt() {
	select {
	case <-tr.stop:
	default:
		close(tr.stop)
	}
	tr.wg.Wait()
}

// nextSuccess waits for a call that succeeded after since (ended after it, or when started is set,
// started after it) and returns when the first such call ended.
func (tr *traffic) nextSuccess(t *testing.T, since time.Time, started bool, timeout time.Duration) time.Time {
	t.Helper()
	after := func(o outcome) bool {
		if started {
			return o.start.After(since)
		}
		return o.end.After(since)
	}
	deadline := time.After(timeout)
	for {
		select {
		case o := <-tr.ok:
			if !after(o) {
				continue
			}
			// The channel drops what it cannot hold: the outcomes have every call.
			tr.mu.Lock()
			defer tr.mu.Unlock()
			end := o.end
			for _, o := range tr.outcomes {
				if o.err == nil && after(o) && o.end.Before(end) {
					end = o.end
				}
			}
			return end
		case <-deadline:
			t.Fatalf("no successful call within %v", timeout)
			return time.Time{}
		}
	}
}

// failures returns the failed calls that ended after since, and the span from the first one's start
// to the last one's end.
func (tr *traffic) failures(since time.Time) (n int, span time.Duration, last error) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var first, end time.Time
	for _, o := range tr.outcomes {
		if o.err == nil || !o.end.After(since) {
			continue
		}
		if n == 0 || o.start.Before(first) {
			first = o.start
		}
		if o.end.After(end) {
			end = o.end
		}
		n++
		last = o.err
	}
	return n, end.Sub(first), last
}

// callerAndCallee runs a calc instance on one client and returns a balanced client of it on the
// other, as two processes would, that never retries what may have been delivered (Attempts(1)), and
// the count of the endpoint's runs.
func callerAndCallee(t *testing.T, callee, caller *hydrakit.Client) (func(context.Context, interface{}) (interface{}, error), *atomic.Int64) {
	t.Helper()
	return callerAndCalleeNamed(t, callee, caller, "calc", "caller")
}

// callerAndCalleeNamed is callerAndCallee with the service's and the caller's names.
func callerAndCalleeNamed(t *testing.T, callee, caller *hydrakit.Client, service, callerName string) (func(context.Context, interface{}) (interface{}, error), *atomic.Int64) {
	t.Helper()
	runs := new(atomic.Int64)
	conn, _ := transportService(t, callee, service)
	sub, err := redispubsub.NewSubscriber(
		func(_ context.Context, req interface{}) (interface{}, error) {
			runs.Add(1)
			r := req.(sumReq)
			return map[string]int{"sum": r.A + r.B}, nil
		},
		func(_ context.Context, m *umf.Message) (interface{}, error) {
			var r sumReq
			return r, m.DecodeBody(&r)
		},
		redispubsub.EncodeJSONResponse)
	if err != nil {
		t.Fatal(err)
	}
	conn.Handle("/sum", sub.ServeMessage)
	from, _ := transportService(t, caller, callerName)
	b, err := balancer.New(from, service, "/sum", redispubsub.EncodeJSONRequest, decodeSum,
		balancer.Attempts(1), balancer.Timeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b.Endpoint(), runs
}

// calls is how many calls the traffic made.
func (tr *traffic) calls() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return len(tr.outcomes)
}

// checkOnce fails the test if the endpoint ran more often than it was called: some message was
// delivered twice, or a call was retried after it had been delivered.
func checkOnce(t *testing.T, tr *traffic, runs *atomic.Int64) {
	t.Helper()
	if calls, runs := tr.calls(), runs.Load(); runs > int64(calls) {
		t.Errorf("the endpoint ran %d times for %d calls", runs, calls)
	}
}

// Redis stopped for 15 s mid-traffic, then restarted on the same port (without and with an append-only
// file): the balanced client's first successful call comes within 2 s of Redis answering again, and
// nothing runs twice.
func TestFailoverRedisRestartHasNoBlackout(t *testing.T) {
	for _, tc := range []struct {
		name    string
		options []redistest.ServerOption
	}{
		{"no persistence", nil},
		{"append-only", []redistest.ServerOption{redistest.AppendOnly()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := redistest.Start(t, tc.options...)
			e, runs := callerAndCallee(t, redistest.Fleet(t, srv.Client(t)), redistest.Fleet(t, srv.Client(t)))
			tr := startTraffic(t, e)
			tr.nextSuccess(t, time.Time{}, false, 10*time.Second)

			srv.Kill(t)
			time.Sleep(15 * time.Second) // the outage itself
			srv.Restart(t)
			answering := time.Now()
			first := tr.nextSuccess(t, answering, false, 30*time.Second)
			tr.nextSuccess(t, first, true, 5*time.Second)
			tr.halt()
			n, _, last := tr.failures(answering)
			t.Logf("first successful call %v after Redis answered again; %d calls failed since (last: %v)",
				first.Sub(answering), n, last)
			if d := first.Sub(answering); d > 2*time.Second {
				t.Errorf("first successful call %v after Redis answered again; want within 2 s", d)
			}
			checkOnce(t, tr, runs)
		})
	}
}

// A Sentinel failover mid-traffic: calls fail for at most 2 s, and a call started after the sentinel
// announced the new primary (+switch-master) succeeds within 2 s of it. Nothing runs twice.
func TestFailoverSentinelSwitchesWithin2s(t *testing.T) {
	set := redistest.StartSentinel(t)
	switched := make(chan time.Time, 1)
	sc := set.SentinelClient(t)
	ps := sc.Subscribe(context.Background(), "+switch-master")
	defer ps.Close()
	if _, err := ps.Receive(context.Background()); err != nil {
		t.Fatal(err)
	}
	go func() {
		if _, err := ps.ReceiveMessage(context.Background()); err == nil {
			switched <- time.Now()
		}
	}()

	e, runs := callerAndCallee(t, redistest.Fleet(t, set.Client(t)), redistest.Fleet(t, set.Client(t)))
	tr := startTraffic(t, e)
	tr.nextSuccess(t, time.Time{}, false, 10*time.Second)
	// A replica streams nothing for up to a second after its first (diskless) sync, until its first
	// REPLCONF ACK: promoted that early it would hold none of the fleet's keys (the service's presence
	// included), a loss of acknowledged writes no failover avoids. Wait until it has them, as a
	// replica that has run for a while has.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if n, err := set.Primary(t).Client(t).Wait(ctx, 1, 5*time.Second).Result(); err != nil || n < 1 {
		t.Fatalf("WAIT for the replica: %d, %v", n, err)
	}
	before := time.Now()

	set.Failover(t)
	var at time.Time
	select {
	case at = <-switched:
	case <-time.After(10 * time.Second):
		t.Fatal("the sentinel never announced +switch-master")
	}
	first := tr.nextSuccess(t, at, true, 30*time.Second)
	tr.nextSuccess(t, time.Now(), true, 5*time.Second)
	tr.halt()
	n, span, last := tr.failures(before)
	t.Logf("first successful call started after +switch-master ended %v after it; %d calls failed over %v (last: %v)",
		first.Sub(at), n, span, last)
	if d := first.Sub(at); d > 2*time.Second {
		t.Errorf("first successful call %v after +switch-master; want within 2 s", d)
	}
	if span > 2*time.Second {
		t.Errorf("calls failed over %v; want at most 2 s", span)
	}
	checkOnce(t, tr, runs)
}
