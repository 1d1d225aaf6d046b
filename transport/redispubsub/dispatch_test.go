package redispubsub

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/hydrakit/hydrakit/internal/trust"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/umf"
)

// The tests in this file need no Redis: they drive what a Conn does between reading a payload and
// handing it on (dispatch, replies, refusals, its log rate), on a Conn that has no subscription.

// bareConn is a Conn of service calc with no Redis behind it, one handler slot, room for two queued
// refusals and the clock now. Nothing it is made to do here publishes.
func bareConn(now func() time.Time) *Conn {
	return &Conn{
		logger: log.NewNopLogger(), service: "calc", keys: keyspace.New(), maxSize: 1 << 10, now: now,
		concurrency: make(chan struct{}, 1),
		routes:      map[string]Handler{},
		pending:     map[string]*call{},
		refusals:    make(chan refusal, 2),
		replyTokens: tokens{rate: 100},
	}
}

// stoppedClock is a clock that moves only when the test says so.
type stoppedClock struct {
	mu sync.Mutex
	t  time.Time
}

func newStoppedClock() *stoppedClock {
	return &stoppedClock{t: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)}
}

func (c *stoppedClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *stoppedClock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// payload marshals msg, failing the test if it cannot.
func payload(t *testing.T, msg *umf.Message) string {
	t.Helper()
	b, err := msg.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// counted is s without Received (every dispatched payload counts there) and Pending.
func counted(s Stats) Stats { s.Received, s.Pending = 0, 0; return s }

// Every payload ends up in exactly one place: a handler, a waiting request, or a counter; the ones a
// sender waits for are answered with an error reply, the others are not.
func TestDispatchSortsEveryPayload(t *testing.T) {
	const (
		me     = "0123456789abcdef0123456789abcdef"
		asked  = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		others = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	)
	sum := func(context.Context, *Conn, *umf.Message) {}
	for _, tc := range []struct {
		name    string
		payload string
		direct  bool
		busy    bool // the only handler slot is taken
		want    Stats
		handled bool
		refusal int // status of the error reply queued, 0 for none
	}{
		{"served", `{"to":"` + me + `@calc:/sum","frm":"x@caller:/","mid":"m"}`, true, false,
			Stats{Handled: 1}, true, 0},
		{"served, verb ignored", `{"to":"calc:[post]/sum","mid":"m"}`, false, false, Stats{Handled: 1}, true, 0},
		{"rmi is not rmid: served", `{"to":"calc:/sum","frm":"x@caller:/","mid":"m","rmi":"x"}`, true, false,
			Stats{Handled: 1}, true, 0},
		{"over the size bound", `{"to":"calc:/sum","bdy":"` + strings.Repeat("x", 1<<10) + `"}`, true, false,
			Stats{Malformed: 1}, false, 0},
		{"not JSON", `{"to":`, true, false, Stats{Malformed: 1}, false, 0},
		{"no to", `{"frm":"x@caller:/","mid":"m"}`, true, false, Stats{Malformed: 1}, false, http.StatusBadRequest},
		{"no to, broadcast", `{"frm":"x@caller:/","mid":"m"}`, false, false, Stats{Malformed: 1}, false, 0},
		{"no to, a reply", `{"frm":"x@caller:/","mid":"m","rmid":"r"}`, true, false, Stats{Malformed: 1}, false, 0},
		{"no route", `{"to":"calc:/nope","frm":"x@caller:/","mid":"m"}`, true, false,
			Stats{Unhandled: 1}, false, http.StatusNotFound},
		{"no route, broadcast", `{"to":"calc:/nope","frm":"x@caller:/","mid":"m"}`, false, false,
			Stats{Unhandled: 1}, false, 0},
		{"no route, no mid", `{"to":"calc:/nope","frm":"x@caller:/"}`, true, false, Stats{Unhandled: 1}, false, 0},
		{"no route, nowhere to reply", `{"to":"calc:/nope","mid":"m"}`, true, false, Stats{Unhandled: 1}, false, 0},
		{"no route, via", `{"to":"calc:/nope","via":"r@router:/","mid":"m"}`, true, false,
			Stats{Unhandled: 1}, false, http.StatusNotFound},
		{"unreadable to", `{"to":"calc:[get/sum","frm":"x@caller:/","mid":"m"}`, true, false,
			Stats{Unhandled: 1}, false, http.StatusBadRequest},
		{"busy", `{"to":"calc:/sum","frm":"x@caller:/","mid":"m"}`, true, true, Stats{Busy: 1}, false, busyStatus},
		{"busy, broadcast", `{"to":"calc:/sum","frm":"x@caller:/","mid":"m"}`, false, true, Stats{Busy: 1}, false, 0},
		{"reply from whom was asked", `{"to":"x@caller:/","frm":"` + asked + `@calc:/sum","mid":"r","rmid":"waiting"}`,
			true, false, Stats{Replies: 1}, false, 0},
		{"reply from another instance", `{"to":"x@caller:/","frm":"` + others + `@calc:/sum","mid":"r","rmid":"waiting"}`,
			true, false, Stats{Foreign: 1}, false, 0},
		{"reply from another service", `{"to":"x@caller:/","frm":"` + asked + `@other:/","mid":"r","rmid":"waiting"}`,
			true, false, Stats{Foreign: 1}, false, 0},
		{"reply nobody waits for", `{"to":"x@caller:/","frm":"` + asked + `@calc:/","mid":"r","rmid":"gone"}`,
			true, false, Stats{Orphans: 1}, false, 0},
		{"reply to no route: never answered", `{"to":"calc:/nope","frm":"x@caller:/","mid":"r","rmid":"gone"}`,
			true, false, Stats{Orphans: 1}, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := bareConn(newStoppedClock().now)
			c.Handle("/sum", sum)
			if tc.busy {
				c.concurrency <- struct{}{}
			}
			waiting := &call{ch: make(chan result, 1), service: "calc", instance: asked}
			c.pending["waiting"] = waiting

			h, msg := c.dispatch(tc.payload, tc.direct)
			if tc.handled != (h != nil) {
				t.Fatalf("want a handler %v, have %v", tc.handled, h != nil)
			}
			if h != nil && (msg == nil || len(c.concurrency) != 1) {
				t.Errorf("a handler without its message or its slot: %+v, %d slots taken", msg, len(c.concurrency))
			}
			if s := c.Stats(); tc.want != counted(s) || s.Received != 1 {
				t.Errorf("want %+v, have %+v", tc.want, s)
			}
			switch _, still := c.pending["waiting"]; {
			case tc.want.Replies == 1:
				if r := <-waiting.ch; still || r.err != nil || r.msg.RMID != "waiting" {
					t.Errorf("the request did not get its reply: %+v, still pending %v", r, still)
				}
			case !still:
				t.Error("the waiting request ended")
			}
			select {
			case r := <-c.refusals:
				if tc.refusal == 0 {
					t.Errorf("want no error reply, have %d %q", r.code, r.reason)
				} else if r.code != tc.refusal || r.msg.MID != "m" || r.reason == "" {
					t.Errorf("want a %d error reply to m, have %d %q to %q", tc.refusal, r.code, r.reason, r.msg.MID)
				}
			default:
				if tc.refusal != 0 {
					t.Errorf("want a %d error reply, have none", tc.refusal)
				}
			}
		})
	}
}

// A mid is served once; one refused unserved (no handler, busy) may come again and be served.
func TestDispatchDuplicates(t *testing.T) {
	c := bareConn(newStoppedClock().now)
	msg := `{"to":"calc:/sum","frm":"x@caller:/","mid":"m"}`
	if h, _ := c.dispatch(msg, true); h != nil {
		t.Fatal("served without a handler")
	}
	c.Handle("/sum", func(context.Context, *Conn, *umf.Message) {})
	c.concurrency <- struct{}{}
	if h, _ := c.dispatch(msg, true); h != nil {
		t.Fatal("served while busy")
	}
	<-c.concurrency
	if h, _ := c.dispatch(msg, true); h == nil {
		t.Fatal("a message refused unserved was not served when it came again")
	}
	<-c.concurrency
	if h, _ := c.dispatch(msg, true); h != nil {
		t.Fatal("served twice")
	}
	if want, have := (Stats{Unhandled: 1, Busy: 1, Handled: 1, Duplicates: 1}), counted(c.Stats()); want != have {
		t.Errorf("want %+v, have %+v", want, have)
	}
}

// With signatures required, only messages and replies signed with the fleet's secret, within the
// replay window and (messages) addressed to this service get through.
func TestDispatchRequiresSignatures(t *testing.T) {
	clock := newStoppedClock()
	c := bareConn(clock.now)
	c.signing = trust.New([][]byte{[]byte("s3cret")}, true)
	c.Handle("/sum", func(context.Context, *Conn, *umf.Message) {})
	c.pending["waiting"] = &call{ch: make(chan result, 1), service: "calc"}
	signed := func(msg *umf.Message, secret string) string {
		msg.Timestamp = umf.FormatTime(clock.now())
		if err := umf.Sign(msg, []byte(secret)); err != nil {
			t.Fatal(err)
		}
		return payload(t, msg)
	}
	for _, tc := range []struct {
		name    string
		payload string
		want    Stats
	}{
		{"signed", signed(&umf.Message{To: "calc:/sum", MID: "1"}, "s3cret"), Stats{Handled: 1}},
		{"unsigned", payload(t, &umf.Message{To: "calc:/sum", MID: "2", Timestamp: umf.FormatTime(clock.now())}), Stats{Forged: 1}},
		{"another secret", signed(&umf.Message{To: "calc:/sum", MID: "3"}, "guess"), Stats{Forged: 1}},
		{"for another service", signed(&umf.Message{To: "billing:/sum", MID: "4"}, "s3cret"), Stats{Forged: 1}},
		{"an unsigned reply", payload(t, &umf.Message{To: "x@caller:/", From: "calc:/", MID: "5", RMID: "waiting",
			Timestamp: umf.FormatTime(clock.now())}), Stats{Forged: 1}},
		{"a signed reply", signed(&umf.Message{To: "x@caller:/", From: "calc:/", MID: "6", RMID: "waiting"}, "s3cret"),
			Stats{Replies: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := counted(c.Stats())
			if h, _ := c.dispatch(tc.payload, true); h != nil {
				<-c.concurrency
			}
			have := counted(c.Stats())
			diff := Stats{
				Handled: have.Handled - before.Handled, Forged: have.Forged - before.Forged,
				Replies: have.Replies - before.Replies,
			}
			if tc.want != diff || have.Malformed+have.Unhandled+have.Foreign+have.Orphans != 0 {
				t.Errorf("want %+v, have %+v", tc.want, have)
			}
		})
	}
	// A signed message replayed after the window is refused too.
	old := signed(&umf.Message{To: "calc:/sum", MID: "7"}, "s3cret")
	clock.advance(trust.ReplayWindow + time.Second)
	if h, _ := c.dispatch(old, true); h != nil {
		t.Error("a message signed before the replay window was served")
	}
	if want, have := uint64(5), c.Stats().Forged; want != have {
		t.Errorf("forged: want %d, have %d", want, have)
	}
}

// refuse queues an error reply only when there is someone to answer, within the rate and the queue;
// everything else it drops, and counts what it drops for the rate or the queue.
func TestRefuseRules(t *testing.T) {
	clock := newStoppedClock()
	c := bareConn(clock.now)
	c.replyTokens = tokens{rate: 3}
	direct := &umf.Message{To: "calc:/x", From: "x@caller:/", MID: "m"}
	for _, tc := range []struct {
		name   string
		msg    *umf.Message
		direct bool
	}{
		{"a broadcast", direct, false},
		{"no mid", &umf.Message{To: "calc:/x", From: "x@caller:/"}, true},
		{"no frm nor via", &umf.Message{To: "calc:/x", MID: "m"}, true},
	} {
		c.refuse(tc.msg, tc.direct, http.StatusNotFound, "no")
		if len(c.refusals) != 0 || c.Stats().ErrorRepliesDropped != 0 {
			t.Fatalf("%s: refused with nobody to answer: %d queued, %+v", tc.name, len(c.refusals), c.Stats())
		}
	}
	c.refuse(&umf.Message{To: "calc:/x", Via: "r@router:/", MID: "m"}, true, http.StatusNotFound, "no")
	c.refuse(direct, true, busyStatus, busyReason)
	c.refuse(direct, true, busyStatus, busyReason) // the queue (2) is full: dropped
	if want, have := 2, len(c.refusals); want != have {
		t.Errorf("queued: want %d, have %d", want, have)
	}
	if want, have := uint64(1), c.Stats().ErrorRepliesDropped; want != have {
		t.Errorf("dropped with the queue full: want %d, have %d", want, have)
	}
	<-c.refusals
	<-c.refusals
	c.refuse(direct, true, busyStatus, busyReason) // three tokens taken: over the rate
	if want, have := 0, len(c.refusals); want != have {
		t.Errorf("queued over the rate: want %d, have %d", want, have)
	}
	clock.advance(time.Second / 2) // one and a half tokens back
	c.refuse(direct, true, busyStatus, busyReason)
	c.refuse(direct, true, busyStatus, busyReason)
	if want, have := 1, len(c.refusals); want != have {
		t.Errorf("queued after half a second: want %d, have %d", want, have)
	}
	if want, have := uint64(3), c.Stats().ErrorRepliesDropped; want != have {
		t.Errorf("dropped: want %d, have %d", want, have)
	}

	silent := bareConn(clock.now)
	silent.replyTokens = tokens{rate: 0} // ConnErrorReplyRate(0)
	silent.refuse(direct, true, busyStatus, busyReason)
	if len(silent.refusals) != 0 || silent.Stats().ErrorRepliesDropped != 1 {
		t.Errorf("rate 0: want the reply dropped, have %d queued, %+v", len(silent.refusals), silent.Stats())
	}
}

// The error replies' token bucket holds at most rate tokens and refills at rate a second; a clock
// going backwards refills nothing.
func TestTokens(t *testing.T) {
	at := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	b := tokens{rate: 4}
	takes := func(now time.Time) (n int) {
		for b.take(now) {
			n++
		}
		return n
	}
	for _, step := range []struct {
		after time.Duration
		want  int
	}{
		{0, 4},                           // a full burst to start with
		{0, 0},                           // none back while the clock stands
		{time.Second / 2, 2},             // half a second: half the rate
		{-time.Minute, 0},                // backwards: nothing
		{time.Minute + time.Second/4, 1}, // back where it was, a quarter second later
		{time.Hour, 4},                   // never more than the burst
	} {
		at = at.Add(step.after)
		if have := takes(at); step.want != have {
			t.Errorf("after %v: want %d tokens, have %d", step.after, step.want, have)
		}
	}
}

// Dropped input is logged at most once a second of the client's clock, whatever its rate.
func TestLogDroppedOnceASecond(t *testing.T) {
	clock := newStoppedClock()
	c := bareConn(clock.now)
	var lines []string
	c.logger = log.LoggerFunc(func(kv ...any) error { lines = append(lines, fmt.Sprint(kv...)); return nil })
	for range 100 {
		c.dispatch("garbage", true)
	}
	clock.advance(time.Second - time.Nanosecond)
	c.dispatch("garbage", true)
	if want, have := 1, len(lines); want != have {
		t.Fatalf("100 dropped payloads within a second: want %d log line, have %d: %q", want, have, lines)
	}
	clock.advance(time.Nanosecond)
	c.dispatch("garbage", true)
	if want, have := 2, len(lines); want != have {
		t.Errorf("a second later: want %d log lines, have %d", want, have)
	}
	if want, have := uint64(102), c.Stats().Malformed; want != have {
		t.Errorf("malformed: want %d counted, have %d", want, have)
	}
}
