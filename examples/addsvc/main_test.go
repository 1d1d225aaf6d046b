package main

import (
	"bytes"
	"context"
	"io"
	"testing"

	"go.uber.org/goleak"

	"github.com/hydrakit/hydrakit/umf"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The same endpoints answer over HTTP and pub/sub, errors included.
func TestSelftest(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-selftest"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	want := `sum over http: 3
sum over pubsub: 3
concat over http: gokit
concat over pubsub: hydrakit
overflow over http: error: http 400: sum outside ±(2^53-1)
overflow over pubsub: error: redispubsub: remote error 400: sum outside ±(2^53-1)
`
	if have := out.String(); want != have {
		t.Errorf("want\n%s\nhave\n%s", want, have)
	}
}

// The caller's request ID, or the request's mid without one, reaches the endpoint's context.
func TestRequestID(t *testing.T) {
	for want, ctx := range map[string]context.Context{
		"mid-1": context.Background(),
		"r-7":   context.WithValue(context.Background(), requestIDKey{}, "r-7"),
	} {
		msg := &umf.Message{MID: "mid-1"}
		setRequestID(ctx, msg)
		if have, _ := extractRequestID(context.Background(), msg).Value(requestIDKey{}).(string); want != have {
			t.Errorf("want %q, have %q", want, have)
		}
	}
}
