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

	"github.com/hydrakit/hydrakit/internal/keyspace"
	"github.com/hydrakit/hydrakit/internal/redistest"
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
