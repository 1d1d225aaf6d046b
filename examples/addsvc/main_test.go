package main

import (
	"bytes"
	"context"
	"io"
	"testing"

	"go.uber.org/goleak"
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
