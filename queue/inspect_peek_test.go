package queue

import (
	"context"
	"testing"
)

// Received lists the next in line first and InProgress the longest-held first, paged from either end.
func TestInspectorPeek(t *testing.T) {
	ctx := context.Background()
	c := miniFleet(t)
	const svc = "peek"
	p := producer(t, c)
	for n := range 5 {
		must(t, p.Enqueue(ctx, newMessage(t, svc, map[string]int{"n": n})))
	}
	in, err := NewInspector(c)
	must(t, err)
	rdb := c.Redis()
	k := newKeys(c.Keyspace(), svc)
	for range 2 { // as a consumer takes work: right of received to left of in progress
		must(t, rdb.LMove(ctx, k.received, k.inProgress, "RIGHT", "LEFT").Err())
	}

	bodies := func(items []Item) string {
		out := ""
		for _, it := range items {
			if it.Message == nil {
				out += "? "
				continue
			}
			out += string(it.Message.Body) + " "
		}
		return out
	}
	received, err := in.Received(ctx, svc, 0, 10)
	must(t, err)
	if want, have := `{"n":2} {"n":3} {"n":4} `, bodies(received); want != have {
		t.Errorf("received: want %s, have %s", want, have)
	}
	page, err := in.Received(ctx, svc, 1, 1)
	must(t, err)
	if want, have := `{"n":3} `, bodies(page); want != have {
		t.Errorf("received page: want %s, have %s", want, have)
	}
	held, err := in.InProgress(ctx, svc, 0, 10)
	must(t, err)
	if want, have := `{"n":0} {"n":1} `, bodies(held); want != have {
		t.Errorf("in progress: want %s, have %s", want, have)
	}
	none, err := in.Received(ctx, svc, 0, 0)
	must(t, err)
	if want, have := 0, len(none); want != have {
		t.Errorf("count 0: want %d, have %d", want, have)
	}
	must(t, rdb.LPush(ctx, k.received, "not umf").Err())
	all, err := in.Received(ctx, svc, 0, 10)
	must(t, err)
	if want, have := `{"n":2} {"n":3} {"n":4} ? `, bodies(all); want != have {
		t.Errorf("with garbage: want %s, have %s", want, have)
	}
	if _, err := in.Received(ctx, "bad:name", 0, 1); err == nil {
		t.Error("bad service name accepted")
	}
}
