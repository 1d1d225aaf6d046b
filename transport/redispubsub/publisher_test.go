package redispubsub

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/umf"
)

type teapot struct{}

func (teapot) Error() string   { return "I'm a teapot" }
func (teapot) StatusCode() int { return http.StatusTeapot }

func TestRequestReply(t *testing.T) {
	client := pubsubRedis(t)
	server := newConn(t, client, "calc")
	caller := newConn(t, client, "caller")
	server.Handle("/sum", serve(t, sumEndpoint, decodeSumRequest, EncodeJSONResponse))

	var sawReply *umf.Message
	e := publisherEndpoint(t, caller, addr("calc", idOf(server), "[post]/sum"),
		EncodeJSONRequest, decodeSumResponse,
		PublisherAfter(func(ctx context.Context, reply *umf.Message) context.Context {
			sawReply = reply
			return ctx
		}))
	resp, err := e(ctxTimeout(t, 5*time.Second), sumRequest{A: 2, B: 3})
	if err != nil {
		t.Fatal(err)
	}
	if want, have := (sumResponse{V: 5}), resp.(sumResponse); want != have {
		t.Errorf("want %v, have %v", want, have)
	}
	// Node's reply rules: to = request's frm, frm = request's to.
	if want, have := caller.Address(), sawReply.To; want != have {
		t.Errorf("reply to: want %q, have %q", want, have)
	}
	if want, have := addr("calc", idOf(server), "[post]/sum"), sawReply.From; want != have {
		t.Errorf("reply frm: want %q, have %q", want, have)
	}
	if want, have := uint64(1), caller.Stats().Replies; want != have {
		t.Errorf("replies: want %d, have %d", want, have)
	}
	if want, have := uint64(1), server.Stats().Handled; want != have {
		t.Errorf("handled: want %d, have %d", want, have)
	}
}

func TestConcurrentRequests(t *testing.T) {
	client := pubsubRedis(t)
	server := newConn(t, client, "calc")
	caller := newConn(t, client, "caller")
	server.Handle("/sum", serve(t, sumEndpoint, decodeSumRequest, EncodeJSONResponse))
	e := publisherEndpoint(t, caller, addr("calc", idOf(server), "/sum"),
		EncodeJSONRequest, decodeSumResponse)

	var wg sync.WaitGroup
	errs := make(chan error, 64*20)
	for g := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				resp, err := e(context.Background(), sumRequest{A: g, B: i})
				if err == nil && resp.(sumResponse).V != g+i {
					err = errors.New("wrong sum")
				}
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if want, have := 0, caller.Stats().Pending; want != have {
		t.Errorf("pending: want %d, have %d", want, have)
	}
}

func TestErrorReplies(t *testing.T) {
	client := pubsubRedis(t)
	server := newConn(t, client, "calc")
	caller := newConn(t, client, "caller")
	server.Handle("/sum", serve(t, sumEndpoint, decodeSumRequest, EncodeJSONResponse))
	server.Handle("/teapot", serve(t,
		func(context.Context, interface{}) (interface{}, error) { return nil, teapot{} },
		nopDecoder, EncodeJSONResponse))

	call := func(route string, req interface{}) error {
		_, err := publisherEndpoint(t, caller, addr("calc", idOf(server), route),
			EncodeJSONRequest, decodeSumResponse)(ctxTimeout(t, 5*time.Second), req)
		return err
	}
	for _, tc := range []struct {
		name   string
		route  string
		req    interface{}
		code   int
		reason string
	}{
		{"endpoint error", "/sum", sumRequest{A: -1}, 500, "negative"},
		{"status coder", "/teapot", nil, 418, "I'm a teapot"},
		{"decode error", "/sum", "not an object", 400, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var re *RemoteError
			if err := call(tc.route, tc.req); !errors.As(err, &re) {
				t.Fatalf("want *RemoteError, have %v", err)
			}
			if want, have := tc.code, re.StatusCode(); want != have {
				t.Errorf("code: want %d, have %d", want, have)
			}
			if tc.reason != "" && tc.reason != re.Reason {
				t.Errorf("reason: want %q, have %q", tc.reason, re.Reason)
			}
		})
	}
}

func TestNoResponders(t *testing.T) {
	client := pubsubRedis(t)
	caller := newConn(t, client, "caller")
	// A deadline far away: a call that waited for it would end with DeadlineExceeded.
	e := publisherEndpoint(t, caller, addr("calc", "0123456789abcdef0123456789abcdef", "/sum"),
		EncodeJSONRequest, decodeSumResponse)
	if _, err := e(ctxTimeout(t, time.Minute), sumRequest{}); !errors.Is(err, ErrNoResponders) {
		t.Fatalf("want ErrNoResponders, have %v", err)
	}
	if want, have := 0, caller.Stats().Pending; want != have {
		t.Errorf("pending: want %d, have %d", want, have)
	}
}

func TestTimeoutAndCancelCleanPending(t *testing.T) {
	client := pubsubRedis(t)
	server := newConn(t, client, "slow")
	caller := newConn(t, client, "caller")
	release := make(chan struct{})
	var deadlineSeen sync.Once
	hadDeadline := make(chan bool, 1)
	server.Handle("/slow", serve(t, func(ctx context.Context, _ interface{}) (interface{}, error) {
		_, ok := ctx.Deadline()
		deadlineSeen.Do(func() { hadDeadline <- ok })
		<-release // outlives the caller's timeout on purpose, then replies late
		return "late", nil
	}, nopDecoder, EncodeJSONResponse))
	to := addr("slow", idOf(server), "/slow")

	e := publisherEndpoint(t, caller, to, EncodeJSONRequest, decodeSumResponse, PublisherTimeout(300*time.Millisecond))
	if _, err := e(context.Background(), nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want DeadlineExceeded, have %v", err)
	}
	select {
	case ok := <-hadDeadline:
		if !ok {
			t.Error("the handler's context has no deadline: tmo was not honoured")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the handler never ran")
	}
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	e = publisherEndpoint(t, caller, to, EncodeJSONRequest, decodeSumResponse)
	go func() { _, err := e(ctx, nil); res <- err }()
	eventually(t, "second request being handled", func() bool { return server.Stats().Handled == 2 })
	cancel()
	if err := <-res; !errors.Is(err, context.Canceled) {
		t.Fatalf("want Canceled, have %v", err)
	}
	if want, have := 0, caller.Stats().Pending; want != have {
		t.Errorf("pending: want %d, have %d", want, have)
	}
	close(release)
	// Both handlers reply after their requests ended: orphans, not a crash.
	eventually(t, "late reply counted as orphan", func() bool { return caller.Stats().Orphans >= 1 })
}

func TestMaxPending(t *testing.T) {
	client := pubsubRedis(t)
	server := newConn(t, client, "slow")
	caller := newConn(t, client, "caller", ConnMaxPending(1))
	release := make(chan struct{})
	server.Handle("/slow", serve(t, func(ctx context.Context, _ interface{}) (interface{}, error) {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return "ok", nil
	}, nopDecoder, EncodeJSONResponse))
	e := publisherEndpoint(t, caller, addr("slow", idOf(server), "/slow"), EncodeJSONRequest,
		func(context.Context, *umf.Message) (interface{}, error) { return nil, nil })

	first := make(chan error, 1)
	go func() { _, err := e(context.Background(), nil); first <- err }()
	eventually(t, "first request pending", func() bool { return caller.Stats().Pending == 1 })
	if _, err := e(context.Background(), nil); !errors.Is(err, ErrTooManyPending) {
		t.Errorf("want ErrTooManyPending, have %v", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Error(err)
	}
}

// Context values travel in hdr through a PublisherBefore and a SubscriberBefore func, written as the
// RequestFunc doc shows.
func TestContextTravelsInHeaders(t *testing.T) {
	client := pubsubRedis(t)
	server := newConn(t, client, "calc")
	caller := newConn(t, client, "caller")
	type tenantKey struct{}
	toHeader := func(ctx context.Context, msg *umf.Message) context.Context {
		if v, ok := ctx.Value(tenantKey{}).(string); ok {
			_ = msg.SetHeader("x-tenant", v)
		}
		return ctx
	}
	fromHeader := func(ctx context.Context, msg *umf.Message) context.Context {
		if v, ok := msg.Header("x-tenant"); ok {
			return context.WithValue(ctx, tenantKey{}, v)
		}
		return ctx
	}
	server.Handle("/whoami", serve(t, func(ctx context.Context, _ interface{}) (interface{}, error) {
		tenant, _ := ctx.Value(tenantKey{}).(string)
		return map[string]string{"tenant": tenant}, nil
	}, nopDecoder, EncodeJSONResponse, SubscriberBefore(fromHeader)))

	var replyTenant string
	e := publisherEndpoint(t, caller, addr("calc", idOf(server), "/whoami"), EncodeJSONRequest,
		func(_ context.Context, m *umf.Message) (interface{}, error) {
			var v map[string]string
			return v, m.DecodeBody(&v)
		}, PublisherBefore(toHeader), PublisherAfter(func(ctx context.Context, reply *umf.Message) context.Context {
			replyTenant, _ = reply.Header("x-tenant") // request headers come back in the reply
			return ctx
		}))
	resp, err := e(context.WithValue(ctxTimeout(t, 5*time.Second), tenantKey{}, "acme"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want, have := "acme", resp.(map[string]string)["tenant"]; want != have {
		t.Errorf("tenant: want %q, have %q", want, have)
	}
	if want, have := "acme", replyTenant; want != have {
		t.Errorf("tenant in the reply's hdr: want %q, have %q", want, have)
	}
}

// NewPublisher refuses what would fail every call; an address without an instance is resolved
// through discovery at call time.
func TestNewPublisherValidates(t *testing.T) {
	client := pubsubRedis(t)
	caller := newConn(t, client, "caller", withInstances())
	enc, dec := EncodeJSONRequest, decodeSumResponse
	for _, tc := range []struct {
		name string
		conn *Conn
		to   string
		enc  EncodeRequestFunc
		dec  DecodeResponseFunc
		opts []PublisherOption
		also error
	}{
		{"nil conn", nil, "svc:/x", enc, dec, nil, nil},
		{"nil encoder", caller, "svc:/x", nil, dec, nil, nil},
		{"nil decoder", caller, "svc:/x", enc, nil, nil, nil},
		{"no colon", caller, "nocolon", enc, dec, nil, ErrBadAddress},
		{"bad service", caller, "a b:/x", enc, dec, nil, keyspace.ErrInvalidName},
		{"bad instance", caller, "a*b@svc:/x", enc, dec, nil, keyspace.ErrInvalidName},
		{"zero timeout", caller, "svc:/x", enc, dec, []PublisherOption{PublisherTimeout(0)}, nil},
		{"nil before", caller, "svc:/x", enc, dec, []PublisherOption{PublisherBefore(nil)}, nil},
		{"nil after", caller, "svc:/x", enc, dec, []PublisherOption{PublisherAfter(nil)}, nil},
		{"nil option", caller, "svc:/x", enc, dec, []PublisherOption{nil}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewPublisher(tc.conn, tc.to, tc.enc, tc.dec, tc.opts...)
			if !errors.Is(err, ErrConfig) {
				t.Errorf("want ErrConfig, have %v", err)
			}
			if tc.also != nil && !errors.Is(err, tc.also) {
				t.Errorf("want %v too, have %v", tc.also, err)
			}
		})
	}
	e := publisherEndpoint(t, caller, "svc:/x", enc, dec)
	if _, err := e(context.Background(), nil); !errors.Is(err, ErrNoInstances) {
		t.Errorf("a service without instances: want ErrNoInstances, have %v", err)
	}
	if err := caller.Send(context.Background(), &umf.Message{To: "nocolon"}); !errors.Is(err, ErrBadAddress) {
		t.Errorf("Send: want ErrBadAddress, have %v", err)
	}
}
