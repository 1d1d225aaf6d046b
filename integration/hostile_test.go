package integration

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
	"github.com/hydrakit/hydrakit/transport/redispubsub"
	"github.com/hydrakit/hydrakit/transport/redispubsub/balancer"
	"github.com/hydrakit/hydrakit/umf"
)

// The hostile-client suite (docs/security.md): a client on the fleet's Redis that forges replies, an
// instance registered without the fleet's secret, and a flood of requests naming ten thousand services
// or carrying garbage.

const hostileSecret = "fleet-secret"

// signedFleet is a hydrakit.Client over rdb that signs everything and requires signatures.
func signedFleet(t *testing.T, rdb goredis.UniversalClient) *hydrakit.Client {
	return redistest.Fleet(t, rdb, hydrakit.WithSigning(hostileSecret), hydrakit.WithRequiredSignatures())
}

// echoInstance answers every /echo request with its own instance ID and the request's body; before
// answering it calls hold (when set), which lets a test decide what reaches the caller first.
func echoInstance(t *testing.T, client *hydrakit.Client, service string, hold func(mid string)) (*redispubsub.Conn, string) {
	t.Helper()
	conn, id := transportService(t, client, service)
	conn.Handle("/echo", func(ctx context.Context, c *redispubsub.Conn, msg *umf.Message) {
		if hold != nil {
			hold(msg.MID)
		}
		resp, err := umf.New("", "", map[string]any{"instance": id, "body": msg.Body})
		if err != nil {
			t.Error(err)
			return
		}
		_ = c.Reply(ctx, msg, resp)
	})
	return conn, id
}

type echoReply struct {
	Instance string
	Body     json.RawMessage
}

// forger PSUBSCRIBEs to every messaging channel and answers every request it sees on the channel of
// the service it targets before the genuine instance can: each forged reply is published, and only
// then is the genuine handler let go (through released). It sends three forgeries per request: unsigned,
// signed with a wrong secret, and a correct-looking reply copied from an earlier genuine one (a
// replay of a signed reply for another mid).
type forger struct {
	rdb      *goredis.Client
	mu       sync.Mutex
	released map[string]chan struct{}
	lastGood *umf.Message // a genuine signed reply seen on the wire, replayed as is
	sent     atomic.Int64
}

func startForger(t *testing.T, srv *redistest.Server, keys keyspace.Scheme, service string) *forger {
	t.Helper()
	f := &forger{rdb: srv.Client(t), released: map[string]chan struct{}{}}
	ctx, cancel := context.WithCancel(context.Background())
	ps := f.rdb.PSubscribe(ctx, keys.ServiceChannel("*")+"*")
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); _ = ps.Close(); <-done })
	go func() {
		defer close(done)
		for m := range ps.Channel() {
			msg, err := umf.Unmarshal([]byte(m.Payload))
			if err != nil {
				continue
			}
			if msg.RMID != "" {
				if msg.Signature != "" {
					f.mu.Lock()
					f.lastGood = msg
					f.mu.Unlock()
				}
				continue
			}
			if !strings.HasPrefix(m.Channel, keys.ServiceChannel(service)) {
				continue
			}
			f.forge(ctx, keys, msg)
			f.release(msg.MID)
		}
	}()
	return f
}

func (f *forger) forge(ctx context.Context, keys keyspace.Scheme, req *umf.Message) {
	addr, err := umf.ParseAddress(req.From)
	if err != nil || addr.Instance == "" {
		return
	}
	channel := keys.InstanceChannel(addr.Service, addr.Instance)
	publish := func(m *umf.Message) {
		b, err := m.Marshal()
		if err == nil && f.rdb.Publish(ctx, channel, b).Err() == nil {
			f.sent.Add(1)
		}
	}
	forged := func() *umf.Message {
		m, _ := umf.New(req.From, req.To, map[string]any{"instance": "forger", "body": json.RawMessage(`"forged"`)})
		m.RMID = req.MID
		return m
	}
	publish(forged())
	wrong := forged()
	_ = umf.Sign(wrong, []byte("not the fleet's secret"))
	publish(wrong)
	f.mu.Lock()
	replay := f.lastGood
	f.mu.Unlock()
	if replay != nil {
		// A genuine signed reply to another request: its rmid does not match, and changing it would
		// break the signature; sent both ways.
		publish(replay)
		changed := *replay
		changed.RMID = req.MID
		publish(&changed)
	}
}

// hold blocks a handler until the forger has answered the same request (or a while has passed, for
// requests it did not see).
func (f *forger) hold(mid string) {
	select {
	case <-f.channel(mid):
	case <-time.After(5 * time.Second):
	}
}

func (f *forger) channel(mid string) chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch, ok := f.released[mid]
	if !ok {
		ch = make(chan struct{})
		f.released[mid] = ch
	}
	return ch
}

func (f *forger) release(mid string) { close(f.channel(mid)) }

// With signatures required, no forged reply completes a call, and the genuine one still does. Without
// them (the control), the forger wins: the test can tell the difference.
func TestHostileForgedReplies(t *testing.T) {
	const calls = 200
	for _, tc := range []struct {
		name   string
		signed bool
	}{{"signatures required", true}, {"unsigned fleet (control)", false}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := redistest.Start(t)
			fleet := func() *hydrakit.Client {
				if tc.signed {
					return signedFleet(t, srv.Client(t))
				}
				return redistest.Fleet(t, srv.Client(t))
			}
			server, caller := fleet(), fleet()
			f := startForger(t, srv, server.Keyspace(), "hostile-echo")
			_, id := echoInstance(t, server, "hostile-echo", f.hold)
			conn, _ := transportService(t, caller, "hostile-caller")

			genuine, forged := 0, 0
			for i := range calls {
				req, err := umf.New(id+"@hostile-echo:/echo", conn.Address(), i+1) // 0 is falsy: no bdy
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				reply, err := conn.Request(ctx, req)
				cancel()
				if err != nil {
					t.Fatalf("call %d: %v", i, err)
				}
				var r echoReply
				if err := reply.DecodeBody(&r); err != nil {
					t.Fatal(err)
				}
				switch {
				case r.Instance == id && string(r.Body) == strconv.Itoa(i+1):
					genuine++
				default:
					forged++
					if tc.signed {
						raw, _ := reply.Marshal()
						t.Logf("call %d accepted %s", i, raw)
					}
				}
			}
			st := conn.Stats()
			t.Logf("%d genuine, %d forged of %d calls; forger sent %d; caller Forged=%d Orphans=%d",
				genuine, forged, calls, f.sent.Load(), st.Forged, st.Orphans)
			if tc.signed {
				if forged != 0 || genuine != calls {
					t.Errorf("want every call answered by the genuine instance, have %d forged of %d", forged, calls)
				}
				if st.Forged < calls {
					t.Errorf("want at least %d forged replies counted, have %d", calls, st.Forged)
				}
			} else if forged < calls/2 {
				t.Errorf("control: the forger should win the unsigned race; it won %d of %d", forged, calls)
			}
		})
	}
}

// An instance registered with the library's own Registrar but without the fleet's secret receives
// calls through the Balancer, and answers none of them: its unsigned replies are dropped.
func TestHostileRogueInstance(t *testing.T) {
	srv := redistest.Start(t)
	signed := signedFleet(t, srv.Client(t))
	rogueFleet := redistest.Fleet(t, srv.Client(t))
	_, good := echoInstance(t, signed, "hostile-rogue", nil)
	var rogueServed atomic.Int64
	_, rogue := echoInstance(t, rogueFleet, "hostile-rogue", func(string) { rogueServed.Add(1) })

	conn, _ := transportService(t, signed, "hostile-caller")
	b, err := balancer.New(conn, "hostile-rogue", "/echo", redispubsub.EncodeJSONRequest,
		func(_ context.Context, m *umf.Message) (any, error) {
			var r echoReply
			return r, m.DecodeBody(&r)
		},
		balancer.Attempts(3),
		balancer.PublisherOptions(redispubsub.PublisherTimeout(200*time.Millisecond)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	e := b.Endpoint()
	waitForInstances(t, signed, "hostile-rogue", good, rogue)
	const calls = 200
	fromRogue := 0
	for i := range calls {
		resp, err := e(context.Background(), i)
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if resp.(echoReply).Instance != good {
			fromRogue++
		}
	}
	t.Logf("the rogue instance received %d calls; caller Forged=%d", rogueServed.Load(), conn.Stats().Forged)
	if fromRogue != 0 {
		t.Errorf("the rogue instance answered %d of %d calls", fromRogue, calls)
	}
	if rogueServed.Load() == 0 {
		t.Error("the rogue instance never received a call: the test shows nothing")
	}
}

// waitForInstances waits until discovery on client lists exactly ids for service.
func waitForInstances(t *testing.T, client *hydrakit.Client, service string, ids ...string) {
	t.Helper()
	in, err := sdredis.NewInstancer(client, service, nil, sdredis.InstancerInstanceID())
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(ids)
	sdWait(t, sdEvents(t, in), 10*time.Second, ids...)
}

// A flood of 10,000 requests whose frm names 10,000 different services, and 10,000 payloads of
// garbage, leave the service's goroutines, heap and Redis connections under the documented bounds,
// and valid requests keep being answered.
func TestHostileBounds(t *testing.T) {
	if testing.Short() {
		t.Skip("floods a real Redis")
	}
	srv := redistest.Start(t)
	admin := srv.Client(t)
	opts := srv.Options()
	opts.ClientName = "hostile-service" // its connections are counted by name
	opts.PoolSize, opts.PipelinePoolSize = 20, 10
	rdb := goredis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	server := redistest.Fleet(t, rdb)
	conn, id := echoInstance(t, server, "hostile-flood", nil)
	caller := redistest.Fleet(t, srv.Client(t))
	callerConn, _ := transportService(t, caller, "hostile-caller")
	ctx := t.Context()
	call := func(i int) error {
		req, _ := umf.New(id+"@hostile-flood:/echo", callerConn.Address(), i)
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, err := callerConn.Request(cctx, req)
		return err
	}
	if err := call(-1); err != nil {
		t.Fatal(err)
	}
	before := measure(t, admin, opts.ClientName)

	// Valid calls all through the flood: each is answered, or refused at once as busy.
	var answered, refused atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			switch err := call(i); {
			case err == nil:
				answered.Add(1)
			case refusedInFlood(err):
				refused.Add(1)
			default:
				t.Errorf("a valid call failed during the flood: %v", err)
				return
			}
		}
	}()

	received := conn.Stats().Received
	channel := server.Keyspace().InstanceChannel("hostile-flood", id)
	pipe := admin.Pipeline()
	junk := make([]byte, 64)
	const flood = 10_000
	for i := range flood {
		m, _ := umf.New(id+"@hostile-flood:/echo", fmt.Sprintf("flood-%d:/", i), i)
		b, _ := m.Marshal()
		pipe.Publish(ctx, channel, b)
		_, _ = rand.Read(junk)
		pipe.Publish(ctx, channel, garbage(i, junk))
		if i%500 == 499 {
			if _, err := pipe.Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	// One subscription delivers in order: once a call sent after the flood is answered, every flood
	// message before it has been read. While the flood keeps every slot busy a call may be refused,
	// or get no answer at all once the flood has used the Conn's error-reply budget (1,000/s).
	for i := 0; ; i++ {
		err := call(-2 - i)
		if err == nil {
			break
		}
		if !refusedInFlood(err) || i == 100 {
			t.Fatalf("the call after the flood: %v", err)
		}
	}
	if have := conn.Stats().Received - received; have < 2*flood {
		t.Fatalf("the Conn read %d of the %d flood messages", have, 2*flood)
	}
	close(stop)
	wg.Wait()
	st := conn.Stats()
	t.Logf("server stats %+v; valid calls answered %d, refused or unanswered while busy %d", st, answered.Load(), refused.Load())
	if answered.Load() == 0 {
		t.Error("no valid call was answered during the flood")
	}
	if err := call(1 << 30); err != nil {
		t.Errorf("a valid call after the flood: %v", err)
	}
	// Handlers still finishing their flood replies end by themselves; what stays is bounded.
	limit := usage{
		goroutines: before.goroutines + hostileGoroutineBound,
		conns:      before.conns + opts.PoolSize + opts.PipelinePoolSize,
		heap:       before.heap + hostileHeapBound,
	}
	var after usage
	if !redistest.Poll(func() bool {
		after = measure(t, admin, opts.ClientName)
		return after.goroutines <= limit.goroutines && after.conns <= limit.conns && after.heap <= limit.heap
	}) {
		t.Fatalf("over the documented bounds: before %+v, after %+v, limit %+v", before, after, limit)
	}
	t.Logf("before %+v, after %+v, limit %+v", before, after, limit)
}

// refusedInFlood reports whether err is what a valid call may get while a flood fills every handler
// slot: a 503, or, once the flood has spent the error-reply budget (ConnErrorReplyRate), no answer
// before its deadline.
func refusedInFlood(err error) bool {
	return errors.Is(err, redispubsub.ErrBusy) || errors.Is(err, context.DeadlineExceeded)
}

// The documented bounds (docs/operations.md, "Bounds") this test asserts beyond the client's pools.
const (
	hostileGoroutineBound = 64 + 8   // parked handler workers (maxIdle), plus the Conn's few of its own
	hostileHeapBound      = 32 << 20 // the mid set (~600 KB), the lookup cache, go-redis's buffers
)

type usage struct {
	goroutines, conns int
	heap              uint64
}

// measure reads this process's goroutines and live heap, and the connections Redis has from clients
// named name.
func measure(t *testing.T, admin *goredis.Client, name string) usage {
	t.Helper()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	list, err := admin.ClientList(t.Context()).Result()
	if err != nil {
		t.Fatal(err)
	}
	return usage{goroutines: runtime.NumGoroutine(), conns: strings.Count(list, " name="+name+" "), heap: ms.HeapInuse}
}

// garbage is the i-th kind of payload the flood mixes in: not JSON, JSON of the wrong shape, a
// message without to, an oversized one, a reply to nothing.
func garbage(i int, junk []byte) []byte {
	switch {
	case i%500 == 3:
		// Over ConnMaxMessageSize. Only a few: a publisher that pushes more than Redis's pub/sub
		// output-buffer limit (32 MB by default) at a subscriber gets it disconnected
		// (docs/security.md), which is Redis's bound, not the service's.
		return []byte(`[` + strings.Repeat(`"x",`, 300_000) + `"x"]`)
	case i%5 == 0:
		return junk
	case i%5 == 1:
		return []byte(`{"to":5,"frm":[],"mid":{}}`)
	case i%5 == 2:
		return []byte(`{"frm":"x@y:/","mid":"` + strconv.Itoa(i) + `"}`)
	case i%5 == 3:
		return []byte(`{"to":"a:/","rmid":"nothing-waits-for-this","mid":"` + strconv.Itoa(i) + `"}`)
	default:
		return []byte(`{"to":"hostile-flood:[get/x","frm":"z@q:/","mid":"m` + strconv.Itoa(i) + `"}`)
	}
}
