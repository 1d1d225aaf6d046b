package redispubsub

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/umf"
)

type teapot struct{}

func (teapot) Error() string   { return "I'm a teapot" }
func (teapot) StatusCode() int { return http.StatusTeapot }

func TestRequestReply(t *testing.T) {
	client := redistest.Client(t)
	server := newConn(t, client, "calc")
	caller := newConn(t, client, "caller")
	server.Handle("/sum", NewSubscriber(sumEndpoint, decodeSumRequest, EncodeJSONResponse))

	var sawReply *umf.Message
	p := NewPublisher(caller, InstanceAddress("calc", server.InstanceID(), "[post]/sum"),
		EncodeJSONRequest, decodeSumResponse,
		PublisherAfter(func(ctx context.Context, reply *umf.Message) context.Context {
			sawReply = reply
			return ctx
		}))
	resp, err := p.Endpoint()(ctxTimeout(t, 5*time.Second), sumRequest{A: 2, B: 3})
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
	if want, have := InstanceAddress("calc", server.InstanceID(), "[post]/sum"), sawReply.From; want != have {
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
	client := redistest.Client(t)
	server := newConn(t, client, "calc")
	caller := newConn(t, client, "caller")
	server.Handle("/sum", NewSubscriber(sumEndpoint, decodeSumRequest, EncodeJSONResponse))
	e := NewPublisher(caller, InstanceAddress("calc", server.InstanceID(), "/sum"),
		EncodeJSONRequest, decodeSumResponse).Endpoint()

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
	client := redistest.Client(t)
	server := newConn(t, client, "calc")
	caller := newConn(t, client, "caller")
	server.Handle("/sum", NewSubscriber(sumEndpoint, decodeSumRequest, EncodeJSONResponse))
	server.Handle("/teapot", NewSubscriber(
		func(context.Context, interface{}) (interface{}, error) { return nil, teapot{} },
		NopRequestDecoder, EncodeJSONResponse))

	call := func(route string, req interface{}) error {
		_, err := NewPublisher(caller, InstanceAddress("calc", server.InstanceID(), route),
			EncodeJSONRequest, decodeSumResponse).Endpoint()(ctxTimeout(t, 5*time.Second), req)
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
	client := redistest.Client(t)
	caller := newConn(t, client, "caller")
	e := NewPublisher(caller, InstanceAddress("calc", "0123456789abcdef0123456789abcdef", "/sum"),
		EncodeJSONRequest, decodeSumResponse).Endpoint()
	start := time.Now()
	_, err := e(context.Background(), sumRequest{})
	if !errors.Is(err, ErrNoResponders) {
		t.Fatalf("want ErrNoResponders, have %v", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("ErrNoResponders took %v; it must not wait for the timeout", elapsed)
	}
	if want, have := 0, caller.Stats().Pending; want != have {
		t.Errorf("pending: want %d, have %d", want, have)
	}
}

func TestTimeoutAndCancelCleanPending(t *testing.T) {
	client := redistest.Client(t)
	server := newConn(t, client, "slow")
	caller := newConn(t, client, "caller")
	release := make(chan struct{})
	var deadlineSeen sync.Once
	hadDeadline := make(chan bool, 1)
	server.Handle("/slow", NewSubscriber(func(ctx context.Context, _ interface{}) (interface{}, error) {
		_, ok := ctx.Deadline()
		deadlineSeen.Do(func() { hadDeadline <- ok })
		<-release // outlives the caller's timeout on purpose, then replies late
		return "late", nil
	}, NopRequestDecoder, EncodeJSONResponse))
	to := InstanceAddress("slow", server.InstanceID(), "/slow")

	e := NewPublisher(caller, to, EncodeJSONRequest, decodeSumResponse, PublisherTimeout(300*time.Millisecond)).Endpoint()
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
	e = NewPublisher(caller, to, EncodeJSONRequest, decodeSumResponse).Endpoint()
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
	client := redistest.Client(t)
	server := newConn(t, client, "slow")
	caller := newConn(t, client, "caller", ConnMaxPending(1))
	release := make(chan struct{})
	server.Handle("/slow", NewSubscriber(func(ctx context.Context, _ interface{}) (interface{}, error) {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return "ok", nil
	}, NopRequestDecoder, EncodeJSONResponse))
	e := NewPublisher(caller, InstanceAddress("slow", server.InstanceID(), "/slow"), EncodeJSONRequest,
		func(context.Context, *umf.Message) (interface{}, error) { return nil, nil }).Endpoint()

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

func TestRequestIDTravelsInHeaders(t *testing.T) {
	client := redistest.Client(t)
	server := newConn(t, client, "calc")
	caller := newConn(t, client, "caller")
	type tenantKey struct{}
	server.Handle("/whoami", NewSubscriber(func(ctx context.Context, _ interface{}) (interface{}, error) {
		id, _ := RequestIDFromContext(ctx)
		tenant, _ := ctx.Value(tenantKey{}).(string)
		return map[string]string{"id": id, "tenant": tenant}, nil
	}, NopRequestDecoder, EncodeJSONResponse, SubscriberBefore(ExtractRequestID, HeaderToContext("x-tenant", tenantKey{}))))

	e := NewPublisher(caller, InstanceAddress("calc", server.InstanceID(), "/whoami"), EncodeJSONRequest,
		func(_ context.Context, m *umf.Message) (interface{}, error) {
			var v map[string]string
			return v, m.DecodeBody(&v)
		}, PublisherBefore(SetRequestID, ContextToHeader(tenantKey{}, "x-tenant"))).Endpoint()
	ctx := context.WithValue(ContextWithRequestID(ctxTimeout(t, 5*time.Second), "req-42"), tenantKey{}, "acme")
	resp, err := e(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := resp.(map[string]string)
	if want, have := "req-42", m["id"]; want != have {
		t.Errorf("request ID: want %q, have %q", want, have)
	}
	if want, have := "acme", m["tenant"]; want != have {
		t.Errorf("tenant: want %q, have %q", want, have)
	}
}

func TestBadTarget(t *testing.T) {
	client := redistest.Client(t)
	caller := newConn(t, client, "caller")
	for _, to := range []string{"nocolon", "svc:/x"} { // the second: no instance and no lister
		e := NewPublisher(caller, to, EncodeJSONRequest, decodeSumResponse).Endpoint()
		if _, err := e(context.Background(), nil); !errors.Is(err, ErrBadAddress) {
			t.Errorf("%q: want ErrBadAddress, have %v", to, err)
		}
	}
}
