package redispubsub

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/kit/sd"
	"github.com/go-kit/kit/sd/lb"

	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/umf"
)

func TestBalancerSurvivesAnInstanceGoingAway(t *testing.T) {
	client := redistest.Client(t)
	caller := newConn(t, client, "caller")
	var ids []string
	var servers []*Conn
	for range 3 {
		s := newConn(t, client, "calc")
		s.Handle("/sum", NewSubscriber(sumEndpoint, decodeSumRequest, EncodeJSONResponse))
		servers = append(servers, s)
		ids = append(ids, s.InstanceID())
	}
	ids = append(ids, keyspace.NewInstanceID()) // listed but never there: ErrNoResponders, next
	b := NewBalancer(caller, sd.FixedInstancer(ids), "calc", "/sum", EncodeJSONRequest, decodeSumResponse,
		BalancerAttempts(4), BalancerTimeout(5*time.Second))
	defer b.Close()
	e := b.Endpoint()

	var failed, done atomic.Int32
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				resp, err := e(context.Background(), sumRequest{A: g, B: i})
				if err != nil || resp.(sumResponse).V != g+i {
					failed.Add(1)
					t.Log(err)
				}
				if done.Add(1) == 100 {
					_ = servers[0].Close() // one instance dies mid-traffic
				}
			}
		}()
	}
	wg.Wait()
	if want, have := int32(0), failed.Load(); want != have {
		t.Errorf("failed requests: want %d, have %d", want, have)
	}
}

func TestBalancerDoesNotRetryRemoteErrors(t *testing.T) {
	client := redistest.Client(t)
	caller := newConn(t, client, "caller")
	var calls atomic.Int32
	var ids []string
	for range 2 {
		s := newConn(t, client, "calc")
		s.Handle("/sum", NewSubscriber(func(ctx context.Context, req interface{}) (interface{}, error) {
			calls.Add(1)
			return sumEndpoint(ctx, req)
		}, decodeSumRequest, EncodeJSONResponse))
		ids = append(ids, s.InstanceID())
	}
	b := NewBalancer(caller, sd.FixedInstancer(ids), "calc", "/sum", EncodeJSONRequest, decodeSumResponse)
	defer b.Close()
	_, err := b.Endpoint()(context.Background(), sumRequest{A: -1})
	var re *RemoteError
	if !errors.As(err.(lb.RetryError).Final, &re) {
		t.Fatalf("want *RemoteError, have %v", err)
	}
	if want, have := int32(1), calls.Load(); want != have {
		t.Errorf("endpoint calls: want %d, have %d", want, have)
	}
}

func TestInstancerListerForServiceAddresses(t *testing.T) {
	client := redistest.Client(t)
	server := newConn(t, client, "calc")
	server.Handle("/sum", NewSubscriber(sumEndpoint, decodeSumRequest, EncodeJSONResponse))
	var made atomic.Int32
	lister := NewInstancerLister(func(service string) (sd.Instancer, error) {
		made.Add(1)
		if service != "calc" {
			return sd.FixedInstancer{}, nil
		}
		return sd.FixedInstancer{server.InstanceID()}, nil
	})
	defer lister.Close()
	caller := newConn(t, client, "caller", ConnInstanceLister(lister))
	e := NewPublisher(caller, "calc:/sum", EncodeJSONRequest, decodeSumResponse).Endpoint()
	for i := range 3 {
		resp, err := e(ctxTimeout(t, 5*time.Second), sumRequest{A: i, B: 1})
		if err != nil {
			t.Fatal(err)
		}
		if want, have := i+1, resp.(sumResponse).V; want != have {
			t.Errorf("want %d, have %d", want, have)
		}
	}
	if want, have := int32(1), made.Load(); want != have {
		t.Errorf("instancers made: want %d, have %d", want, have)
	}
	if err := caller.Send(context.Background(), &umf.Message{To: "empty:/x"}); !errors.Is(err, ErrNoInstances) {
		t.Errorf("want ErrNoInstances, have %v", err)
	}
}
