package redispubsub

import (
	"context"
	"testing"
	"time"

	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/umf"
)

func TestSharedDeadline(t *testing.T) {
	s := NewSubscriber(sumEndpoint, decodeSumRequest, EncodeJSONResponse)
	base, cancel := context.WithCancel(context.Background())
	defer cancel()
	const tmo = 5 * time.Second
	before := time.Now()
	d1 := s.sharedDeadline(base, tmo)
	d2 := s.sharedDeadline(base, tmo)
	deadline, ok := d1.ctx.Deadline()
	if !ok {
		t.Fatal("no deadline")
	}
	// Rounded down to the slot: never later than asked, at most one slot earlier.
	if latest := time.Now().Add(tmo); deadline.After(latest) {
		t.Errorf("deadline %v is after %v", deadline, latest)
	}
	if earliest := before.Add(tmo - deadlineSlot); deadline.Before(earliest) {
		t.Errorf("deadline %v is before %v", deadline, earliest)
	}
	if d1 != d2 {
		// Two calls can straddle a slot boundary; then a third must share the second's.
		d3 := s.sharedDeadline(base, tmo)
		if d3 != d2 {
			t.Error("messages of one deadline slot do not share a context")
		}
		d3.release()
	}
	d1.release()
	d2.release()
	if d2.ctx.Err() != nil {
		t.Error("the latest shared context ended while it may still be shared")
	}

	// A newer slot retires the old context: it ends once its last message is done, not at its
	// deadline (a tmo of hours must not keep contexts and timers alive).
	old := s.sharedDeadline(base, tmo)
	newer := s.sharedDeadline(base, tmo+time.Second)
	if old.ctx.Err() != nil {
		t.Error("a context still in use ended")
	}
	old.release()
	if old.ctx.Err() == nil {
		t.Error("a retired context outlives its last message")
	}
	newer.release()
	cancel()
	if newer.ctx.Err() == nil {
		t.Error("the shared context outlives its base")
	}
}

// With SubscriberContext, the parent joined with the Conn's context is made once per Conn, ends with
// either, and is forgotten when the Conn closes.
func TestSubscriberParentMergedPerConn(t *testing.T) {
	client := redistest.Client(t)
	parent, stop := context.WithCancel(context.Background())
	defer stop()
	s := NewSubscriber(sumEndpoint, decodeSumRequest, EncodeJSONResponse, SubscriberContext(parent))
	conn, err := NewConn(client, "calc", "1f0e2d3c4b5a69788796a5b4c3d2e1f0")
	if err != nil {
		t.Fatal(err)
	}
	m1, m2 := s.mergeParent(conn), s.mergeParent(conn)
	if m1 != m2 {
		t.Error("a second message got a new merged context")
	}
	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the merged context to end with the Conn", func() bool { return m1.Err() != nil })
	eventually(t, "the Conn to be forgotten", func() bool {
		_, ok := s.merged.Load(conn)
		return !ok
	})
	if parent.Err() != nil {
		t.Error("closing the Conn cancelled the parent")
	}

	// ServeMessage with a context of its own (not the Conn's) merges per message.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.ServeMessage(ctx, nil, &umf.Message{To: "calc:/sum", Body: []byte(`{"A":1,"B":2}`)})
}
