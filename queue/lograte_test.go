package queue

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hydrakit/hydrakit/internal/ratelog"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
)

// lines records log lines as logfmt-ish strings.
type lines struct {
	mu  sync.Mutex
	all []string
}

func (l *lines) Log(keyvals ...any) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all = append(l.all, fmt.Sprint(keyvals...))
	return nil
}

func (l *lines) count(substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.all {
		if strings.Contains(s, substr) {
			n++
		}
	}
	return n
}

// A flood of messages that each make the consumer log (here: unsigned ones, with signatures
// required) writes logBurst lines a second, and the next line after the second says how many were
// left out.
func TestMessageLogLinesAreRateLimited(t *testing.T) {
	rdb := redistest.Client(t)
	log := &lines{}
	c := redistest.Fleet(t, rdb, hydrakit.WithLogger(log), hydrakit.WithSigning("s"), hydrakit.WithRequiredSignatures())
	svc := service()
	const flood = 100
	enqueueN(t, redistest.Fleet(t, rdb), svc, flood)
	con, err := newConsumer(c, svc, HandlerFunc(func(context.Context, *Delivery) error { return nil }), fast()...)
	must(t, err)
	var now atomic.Int64 // frozen until the test moves it: the second never ends
	limiter := con.inputLog.(*ratelog.Logger)
	limiter.Now = func() time.Time { return time.Unix(0, now.Load()) }
	con.start()
	eventually(t, "dead letters", func() bool { return con.Stats().Rejected == flood })
	must(t, con.Close())
	equal(t, logBurst, log.count("message moved to incomplete"))
	now.Add(int64(time.Second))
	must(t, con.inputLog.Log("msg", "next"))
	equal(t, 1, log.count(fmt.Sprint("suppressed", flood-logBurst)))
}
