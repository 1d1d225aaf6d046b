package redispubsub

import (
	"context"
	"errors"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/umf"
)

type sumRequest struct{ A, B int }
type sumResponse struct{ V int }

func sumEndpoint(_ context.Context, req interface{}) (interface{}, error) {
	r := req.(sumRequest)
	if r.A < 0 {
		return nil, errors.New("negative")
	}
	return sumResponse{V: r.A + r.B}, nil
}

func decodeSumRequest(_ context.Context, msg *umf.Message) (interface{}, error) {
	var r sumRequest
	err := msg.DecodeBody(&r)
	return r, err
}

func decodeSumResponse(_ context.Context, msg *umf.Message) (interface{}, error) {
	var r sumResponse
	err := msg.DecodeBody(&r)
	return r, err
}

// newConn opens a Conn closed at the end of the test.
func newConn(t testing.TB, client goredis.UniversalClient, service string, options ...ConnOption) *Conn {
	t.Helper()
	c, err := NewConn(client, service, keyspace.NewInstanceID(), options...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// eventually polls cond until it holds or 10 s pass.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func ctxTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
