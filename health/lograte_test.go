package health

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hydrakit/hydrakit/internal/ratelog"

	"github.com/go-kit/log/level"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
)

// failingHook fails every pipeline at once, as a Redis that refuses connections does.
type failingHook struct{}

func (failingHook) DialHook(next goredis.DialHook) goredis.DialHook          { return next }
func (failingHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook { return next }
func (failingHook) ProcessPipelineHook(goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(context.Context, []goredis.Cmder) error { return errors.New("connection refused") }
}

// While Redis refuses every write, a Recorder logs at most logBurst failures a second however many
// events its service logs, and says on the next line how many it left out.
func TestRecorderFailureLogIsRateLimited(t *testing.T) {
	_, rdb := redistest.Mini(t)
	rdb.AddHook(failingHook{})
	own := &syncLogger{}
	r, err := NewRecorder(redistest.Fleet(t, rdb, hydrakit.WithLogger(own)), "svc", testInstance)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Close() }()
	var now atomic.Int64 // frozen until the test moves it: the second never ends
	limiter := r.logger.(*ratelog.Logger)
	limiter.Now = func() time.Time { return time.Unix(0, now.Load()) }
	const events = 30
	for i := range events { // one failed write per event
		_ = level.Error(r).Log("msg", fmt.Sprint("event ", i))
		waitFor(t, "the failed write", func() bool { return r.Stats().Dropped == uint64(i+1) })
	}
	if err := r.Close(); err != nil { // the recorder's goroutine has logged what it will
		t.Fatal(err)
	}
	if want, have := logBurst, strings.Count(own.String(), "flight recorder write failed"); want != have {
		t.Fatalf("want %d failure lines, have %d", want, have)
	}
	now.Add(int64(time.Second))
	_ = limiter.Log("msg", "next")
	if want := fmt.Sprintf("suppressed=%d", events-logBurst); !strings.Contains(own.String(), want) {
		t.Fatalf("no %s in %s", want, own)
	}
}
