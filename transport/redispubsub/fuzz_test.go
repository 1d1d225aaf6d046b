package redispubsub

import (
	"context"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/hydrakit/hydrakit/umf"
)

// FuzzDispatch feeds arbitrary payloads, as they arrive from the network, to a Conn's dispatcher:
// it must never panic, and every payload is either malformed, a reply, unhandled or handled.
func FuzzDispatch(f *testing.F) {
	for _, seed := range []string{
		`{"to":"calc:/sum","frm":"a@b:/","mid":"m","bdy":{"A":1}}`,
		`{"to":"a@b:[post]/x","rmid":"m-1","bdy":1}`,
		`{"to":"b:/","typ":"ping"}`,
		`{"to":5}`, `not json`, `null`, `[]`, `{"to":"[","rmi":"x"}`, "",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		c := &Conn{
			logger: log.NewNopLogger(), maxSize: 1 << 20,
			concurrency: make(chan struct{}, 1),
			routes:      map[string]Handler{"/sum": func(context.Context, *Conn, *umf.Message) {}},
			pending:     map[string]*call{},
			pub:         newBatcher(nil, false, time.Second, 1),
			now:         time.Now,
		}
		cl := &call{ch: make(chan result, 1)}
		c.pending["m-1"] = cl
		h, msg := c.dispatch(payload, true)
		if h != nil {
			if msg == nil || msg.To == "" || msg.RMID != "" {
				t.Fatalf("handler for %q with message %+v", payload, msg)
			}
			<-c.concurrency
		}
		s := c.Stats()
		if n := s.Malformed + s.Replies + s.Orphans + s.Foreign + s.Unhandled + s.Handled; n != 1 {
			t.Fatalf("%q counted %d times: %+v", payload, n, s)
		}
	})
}

// FuzzRouteOf checks the allocation-free route extraction against umf.ParseAddress.
func FuzzRouteOf(f *testing.F) {
	for _, seed := range []string{"svc:/p", "svc:[get]/v1/x", "iid@svc:[post]/v1/x:y", "a:", "[x]:y", "s:[get"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, to string) {
		a, err := umf.ParseAddress(to)
		if err != nil {
			return
		}
		if want, have := a.Route, routeOf(to); want != have {
			t.Fatalf("%q: want route %q, have %q", to, want, have)
		}
	})
}
