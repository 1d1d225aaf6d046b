package redispubsub

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/umf"
)

// A message delivered twice (a resent PUBLISH, or one that reached subscribers through the old and
// the new primary of a failover) runs its handler once, and is counted as a duplicate.
func TestDuplicateDeliveryRunsOnce(t *testing.T) {
	_, rdb := redistest.Mini(t)
	server := newConn(t, rdb, "dup")
	var runs atomic.Int64
	done := make(chan struct{}, 4)
	server.Handle("/x", func(context.Context, *Conn, *umf.Message) { runs.Add(1); done <- struct{}{} })
	msg, err := umf.New(idOf(server)+"@dup:/x", "client:/", nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := msg.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	channel := server.keys.InstanceChannel("dup", idOf(server))
	for range 2 {
		if err := rdb.Publish(t.Context(), channel, raw).Err(); err != nil {
			t.Fatal(err)
		}
	}
	<-done
	other, _ := umf.New(idOf(server)+"@dup:/x", "client:/", nil) // a new mid runs
	raw, _ = other.Marshal()
	if err := rdb.Publish(t.Context(), channel, raw).Err(); err != nil {
		t.Fatal(err)
	}
	<-done // one channel is read in order: the duplicate was dropped before this one ran
	if want, have := uint64(1), server.Stats().Duplicates; want != have {
		t.Errorf("duplicates: want %d, have %d", want, have)
	}
	if want, have := int64(2), runs.Load(); want != have {
		t.Errorf("handler runs: want %d, have %d", want, have)
	}
}

// The set of recent mids stays bounded: two generations at most.
func TestRecentMIDsBounded(t *testing.T) {
	var r recentMIDs
	for i := range 5 * recentMIDsPerGeneration {
		if r.add(fmt.Sprint(i)) {
			t.Fatalf("mid %d reported seen", i)
		}
	}
	if n := len(r.cur) + len(r.old); n > 2*recentMIDsPerGeneration {
		t.Errorf("holds %d mids, want at most %d", n, 2*recentMIDsPerGeneration)
	}
	last := fmt.Sprint(5*recentMIDsPerGeneration - 1)
	if !r.add(last) {
		t.Error("the latest mid is not seen again")
	}
	if r.add("") {
		t.Error("an empty mid is never a duplicate")
	}
	if r.add("") {
		t.Error("an empty mid is never a duplicate")
	}
}
