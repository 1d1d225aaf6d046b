package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/go-kit/kit/circuitbreaker"
	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/sd"
	"github.com/go-kit/kit/sd/lb"
	httptransport "github.com/go-kit/kit/transport/http"
	"github.com/go-kit/log"
	goredis "github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/embedded"
	"github.com/hydrakit/hydrakit/keyspace"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
	"github.com/hydrakit/hydrakit/transport/redispubsub"
	"github.com/hydrakit/hydrakit/transport/redispubsub/balancer"
	"github.com/hydrakit/hydrakit/umf"
)

const greeterService = "greeter"

// tour runs the demo's steps in order and owns everything they start.
type tour struct {
	client  *hydrakit.Client
	rdb     goredis.UniversalClient // client.Redis(), for the demo's own reads
	redis   embedded.Redis          // where the children connect
	out     io.Writer
	logger  log.Logger
	verbose bool
	start   time.Time

	logDir   string
	children []*child
	greeters []*child

	stopRouter func() // set once hydrakit-router serves
	dashboard  string // its dashboard's URL

	// The client side: an Instancer per instance form, and a balanced endpoint per transport.
	addrs, ids *sdredis.Instancer
	endpointer *sd.DefaultEndpointer
	conn       *redispubsub.Conn
	balancer   *balancer.Balancer
	httpGreet  endpoint.Endpoint
	busGreet   endpoint.Endpoint
	acks       chan string
}

func (t *tour) say(format string, args ...any) {
	fmt.Fprintf(t.out, "[%5.1fs] %s\n", time.Since(t.start).Seconds(), fmt.Sprintf(format, args...))
}

func (t *tour) run(ctx context.Context) error {
	steps := []struct {
		name string
		run  func(context.Context) error
	}{
		{"three instances of a go-kit service register", t.register},
		{"a client balances HTTP and pub/sub calls across them", t.balance},
		{"hydrakit-router routes HTTP to them", t.routerStep},
		{"one instance is killed (SIGKILL) and the client fails over", t.failover},
		{"a broadcast reaches every live instance", t.broadcast},
		{"queued jobs survive a worker killed mid-job", t.jobs},
		{"health snapshots and flight-recorder entries", t.health},
		{"the Redis keys, in Node Hydra's scheme", t.keys},
	}
	for i, s := range steps {
		fmt.Fprintln(t.out)
		t.say("Step %d: %s", i+1, s.name)
		if err := s.run(ctx); err != nil {
			return fmt.Errorf("step %d (%s) failed: %w", i+1, s.name, err)
		}
	}
	fmt.Fprintln(t.out)
	t.say("All %d steps worked.", len(steps))
	return nil
}

// cleanup stops every process and client the tour started, children gracefully.
func (t *tour) cleanup() {
	if t.stopRouter != nil {
		t.stopRouter()
	}
	for _, c := range t.children {
		c.stop()
	}
	if t.balancer != nil {
		_ = t.balancer.Close()
	}
	if t.endpointer != nil {
		t.endpointer.Close()
	}
	for _, i := range []*sdredis.Instancer{t.addrs, t.ids} {
		if i != nil {
			i.Stop()
		}
	}
	if t.conn != nil {
		_ = t.conn.Close()
	}
	if t.logDir != "" {
		_ = os.RemoveAll(t.logDir)
	}
}

func (t *tour) register(ctx context.Context) error {
	for range 3 {
		g, err := t.spawn(ctx, "greeter", greeterService)
		if err != nil {
			return err
		}
		t.greeters = append(t.greeters, g)
		t.say("  greeter %s registered, serving HTTP on %s (pid %d); scrape http://%s/metrics", short(g.fields[0]), g.fields[1], g.cmd.Process.Pid, g.fields[1])
	}

	// The client: go-kit's own stack (Instancer → Endpointer → RoundRobin → Retry, a breaker per
	// instance) for HTTP, and the same stack in one call for pub/sub. The Instancer of instance IDs
	// shares its watch with the balancer's: it shows what the pub/sub side sees.
	var err error
	if t.addrs, err = sdredis.NewInstancer(t.client, greeterService, t.logger); err != nil {
		return err
	}
	if t.ids, err = sdredis.NewInstancer(t.client, greeterService, t.logger, sdredis.InstancerInstanceID()); err != nil {
		return err
	}
	t.endpointer = sd.NewEndpointer(t.addrs, httpFactory, t.logger)
	t.httpGreet = lb.Retry(3, 2*time.Second, lb.NewRoundRobin(t.endpointer))
	// go-kit's Endpointer takes the Instancer's first event on a goroutine of its own: wait for it, so
	// that the first call does not find an empty set.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if endpoints, _ := t.endpointer.Endpoints(); len(endpoints) > 0 {
			break
		}
	}

	t.acks = make(chan string, 16)
	if t.conn, err = redispubsub.NewConn(t.client, "demo-client", keyspace.NewInstanceID()); err != nil {
		return err
	}
	t.conn.HandleDefault(func(_ context.Context, _ *redispubsub.Conn, msg *umf.Message) {
		var ack struct{ By string }
		if msg.Type == "ack" && msg.DecodeBody(&ack) == nil {
			select {
			case t.acks <- ack.By:
			default:
			}
		}
	})
	if t.balancer, err = balancer.New(t.conn, greeterService, "/greet", redispubsub.EncodeJSONRequest, decodeGreetReply,
		balancer.Attempts(3), balancer.Timeout(2*time.Second)); err != nil {
		return err
	}
	t.busGreet = t.balancer.Endpoint()

	if err := waitFor(ctx, 5*time.Second, func() bool { return len(instances(t.addrs)) == 3 && len(instances(t.ids)) == 3 }); err != nil {
		return fmt.Errorf("the Instancers see %d and %d instances, want 3", len(instances(t.addrs)), len(instances(t.ids)))
	}
	t.say("  the client's Instancer sees %d instances: %v", 3, instances(t.addrs))
	return nil
}

func (t *tour) balance(ctx context.Context) error {
	for _, tr := range []struct {
		name string
		e    endpoint.Endpoint
	}{{"HTTP", t.httpGreet}, {"pub/sub", t.busGreet}} {
		by := map[string]int{}
		for i := range 30 {
			resp, err := greet(ctx, tr.e, fmt.Sprintf("caller %d", i))
			if err != nil {
				return fmt.Errorf("%s call %d: %w", tr.name, i, err)
			}
			by[short(resp.By)]++
		}
		t.say("  30 %s calls answered by %s", tr.name, spread(by))
		if len(by) != 3 {
			return fmt.Errorf("%s calls reached %d instances, want all 3", tr.name, len(by))
		}
	}
	return nil
}

func httpFactory(instance string) (endpoint.Endpoint, io.Closer, error) {
	u, err := url.Parse("http://" + instance + "/greet")
	if err != nil {
		return nil, nil, err
	}
	e := httptransport.NewClient(http.MethodPost, u, httptransport.EncodeJSONRequest, decodeGreetHTTPResponse,
		httptransport.SetClient(&http.Client{Timeout: time.Second})).Endpoint()
	return circuitbreaker.Gobreaker(gobreaker.NewCircuitBreaker(gobreaker.Settings{Name: instance}))(e), nil, nil
}

func decodeGreetHTTPResponse(_ context.Context, r *http.Response) (any, error) {
	if r.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %s", r.Status)
	}
	var resp greetResponse
	err := jsonDecode(r.Body, &resp)
	return resp, err
}

func decodeGreetReply(_ context.Context, reply *umf.Message) (any, error) {
	var resp greetResponse
	err := reply.DecodeBody(&resp)
	return resp, err
}

func greet(ctx context.Context, e endpoint.Endpoint, name string) (greetResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	resp, err := e(ctx, greetRequest{Name: name})
	if err != nil {
		return greetResponse{}, err
	}
	return resp.(greetResponse), nil
}

// instances is what an Instancer last pushed.
func instances(i *sdredis.Instancer) []string {
	ch := make(chan sd.Event, 1)
	i.Register(ch) // pushes the current state synchronously
	i.Deregister(ch)
	return (<-ch).Instances
}

func waitFor(ctx context.Context, limit time.Duration, ok func() bool) error {
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %v", limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// spread says how calls were spread over instances: "a1b2c3d4 ×10, ...", in a stable order.
func spread(by map[string]int) string {
	var parts []string
	for id, n := range by {
		parts = append(parts, fmt.Sprintf("%s ×%d", id, n))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}
