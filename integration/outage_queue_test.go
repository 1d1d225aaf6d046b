package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/queue"
	"github.com/hydrakit/hydrakit/redisurl"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
	"github.com/hydrakit/hydrakit/umf"
)

// outageDuration is how long Redis stays down: longer than presence's TTL, the queue's backoffs (5 s
// at most) and go-redis's dial timeout, shorter than a consumer's default lease (25 s).
const outageDuration = 15 * time.Second

// TestQueueRedisOutage stops Redis (SIGKILL) for 15 s while two producers enqueue and a consumer
// consumes, then starts it again on the same port, and checks what docs/queue.md promises:
//
//   - with append-only persistence and appendfsync always (redistest.AppendOnly), no acknowledged
//     enqueue is lost: every Enqueue that returned nil, before, during or after the outage, is handled;
//   - without persistence, Redis comes back empty: what the queue held at the crash is gone, no Enqueue
//     returns nil while Redis is down, and every enqueue acknowledged after Redis answers again is
//     handled.
//
// In both, the consumer and a registrar heal by themselves: nothing is restarted or recreated.
func TestQueueRedisOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("outage test skipped in -short mode")
	}
	for _, tc := range []struct {
		name string
		aof  bool
	}{{"append-only", true}, {"no-persistence", false}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			queueOutage(t, tc.aof)
		})
	}
}

type outageAck struct {
	mid string
	at  time.Time
}

func queueOutage(t *testing.T, aof bool) {
	ctx := t.Context()
	const svc, sdSvc = "outage-queue", "outage-sd"
	var srv *redistest.Server
	if aof {
		srv = redistest.Start(t, redistest.AppendOnly())
	} else {
		srv = redistest.Start(t)
	}
	rdb, err := redisurl.NewClient(srv.URL() + "/0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	fleet := redistest.Fleet(t, rdb)

	var (
		p        = newShapeProgress()
		acks     []outageAck
		handled  = map[string]int{}
		failures int
		// restarted is when Redis answered again after the outage, firstHandled when the consumer
		// handled its first message after that; both under p.mu.
		restarted, firstHandled time.Time
	)
	// The consumer is slower than the producers, so that at the crash the queue holds work in every
	// state: received, leased and being handled, handled but not yet settled, delayed.
	consumer, err := queue.NewConsumer(fleet, svc, queue.HandlerFunc(func(_ context.Context, d *queue.Delivery) error {
		time.Sleep(4 * time.Millisecond) // the work
		now := time.Now()
		p.update(func() {
			handled[d.Message.MID]++
			if !restarted.IsZero() && firstHandled.IsZero() && now.After(restarted) {
				firstHandled = now
			}
		})
		return nil
	}), queue.ConsumerWorkers(2))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := consumer.Close(); err != nil {
			t.Error(err)
		}
	}()

	in, err := sdredis.NewInstancer(fleet, sdSvc, nil, sdredis.InstancerInstanceID())
	if err != nil {
		t.Fatal(err)
	}
	ch := sdEvents(t, in)
	reg, err := sdredis.NewRegistrar(fleet, sdredis.Service{Name: sdSvc}, nil)
	if err != nil {
		t.Fatal(err)
	}
	reg.Register()
	defer reg.Deregister()
	sdWait(t, ch, 5*time.Second, reg.ID())

	// Two producers, each enqueueing one message at a time (one in ten delayed by 2 s), several hundred
	// a second between them.
	stop := make(chan struct{})
	stopped := make(chan struct{}, 2)
	for w := range 2 {
		producer, err := queue.NewProducer(fleet)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			defer func() { stopped <- struct{}{} }()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				m, err := umf.New(svc+":/", "outage-test:/", map[string]int{"producer": w, "n": i})
				if err != nil {
					panic(err)
				}
				cctx, cancel := context.WithTimeout(ctx, time.Second)
				if i%10 == 0 {
					err = producer.EnqueueAt(cctx, m, time.Now().Add(2*time.Second))
				} else {
					err = producer.Enqueue(cctx, m)
				}
				cancel()
				now := time.Now()
				p.update(func() {
					if err == nil {
						acks = append(acks, outageAck{m.MID, now})
					} else {
						failures++
					}
				})
				if err != nil {
					time.Sleep(50 * time.Millisecond) // Redis is down: pace the retries
				} else {
					time.Sleep(time.Millisecond)
				}
			}
		}()
	}
	stopProducers := func() {
		select {
		case <-stop:
			return
		default:
		}
		close(stop)
		<-stopped
		<-stopped
	}
	defer stopProducers()

	p.wait(t, 10*time.Second, "traffic before the outage", func() string {
		if len(acks) < 200 || len(handled) < 100 {
			return fmt.Sprintf("%d enqueued, %d handled", len(acks), len(handled))
		}
		return ""
	})

	inspector, err := queue.NewInspector(fleet)
	if err != nil {
		t.Fatal(err)
	}
	atCrash, err := inspector.Stats(ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	srv.Kill(t)
	killed := time.Now()
	p.mu.Lock()
	ackedBefore := len(acks)
	p.mu.Unlock()
	p.wait(t, 5*time.Second, "enqueues failing while Redis is down", func() string {
		if failures == 0 {
			return "no Enqueue has failed yet"
		}
		return ""
	})
	// The outage itself is the scenario: Redis stays down for its whole length, whatever happens.
	time.Sleep(time.Until(killed.Add(outageDuration)))
	restarting := time.Now()
	srv.Restart(t) // returns once Redis answers
	p.update(func() { restarted = time.Now() })

	p.wait(t, 10*time.Second, "an enqueue acknowledged after the restart", func() string {
		if len(acks) > ackedBefore {
			return ""
		}
		return fmt.Sprintf("%d failures so far", failures)
	})
	var firstAck time.Duration
	p.mu.Lock()
	if len(acks) > ackedBefore {
		firstAck = max(acks[ackedBefore].at.Sub(restarted), 0) // 0: while Restart waited for Redis to answer
	}
	p.mu.Unlock()
	// Healing is measured from the moment Redis answers. Each component waits at most a second
	// between attempts, and go-redis at most another second between dials after failed ones.
	const healBound = 3 * time.Second
	sdWait(t, ch, healBound, reg.ID())
	seen := time.Since(restarted)
	p.wait(t, healBound, "the consumer handling again", func() string {
		if firstHandled.IsZero() {
			return "nothing handled since Redis answers again"
		}
		return ""
	})
	t.Logf("after the restart: first enqueue acknowledged in %v, first message handled in %v, the registrar's "+
		"instance seen again in %v", firstAck, firstHandled.Sub(restarted), seen)

	p.wait(t, 15*time.Second, "enqueues since the restart handled", func() string {
		n := 0
		for _, a := range acks {
			if a.at.After(restarted) && handled[a.mid] > 0 {
				n++
			}
		}
		if n < 100 {
			return fmt.Sprintf("%d handled of those enqueued since the restart", n)
		}
		return ""
	})
	stopProducers()

	p.mu.Lock()
	during := 0
	for _, a := range acks {
		if a.at.After(killed) && a.at.Before(restarting) {
			during++
		}
	}
	p.mu.Unlock()
	if during > 0 {
		t.Errorf("%d enqueues acknowledged while Redis was down", during)
	}

	// must: the acknowledged enqueues that the promise covers.
	mustBeHandled := func(a outageAck) bool { return aof || a.at.After(restarting) }
	p.wait(t, 30*time.Second, "every acknowledged enqueue handled", func() string {
		missing := 0
		for _, a := range acks {
			if mustBeHandled(a) && handled[a.mid] == 0 {
				missing++
			}
		}
		if missing > 0 {
			return fmt.Sprintf("%d acknowledged enqueues not handled", missing)
		}
		return ""
	})
	p.mu.Lock()
	lost, duplicates := 0, 0
	for _, a := range acks {
		if handled[a.mid] == 0 {
			lost++
		}
	}
	for _, n := range handled {
		duplicates += n - 1
	}
	t.Logf("append-only %v: %d enqueues acknowledged (%d before the crash, when the queue held %+v), %d failed; "+
		"%d acknowledged ones lost with Redis's memory; %d handled twice",
		aof, len(acks), ackedBefore, atCrash, failures, lost, duplicates)
	p.mu.Unlock()
	if aof && lost > 0 {
		t.Errorf("%d acknowledged enqueues lost with append-only persistence", lost)
	}

	shapeEventually(t, 30*time.Second, "an empty queue", func() string {
		s, err := inspector.Stats(ctx, svc)
		if err != nil || s.Received+s.InProgress+s.Leased+s.Delayed+s.Incomplete != 0 {
			return fmt.Sprintf("%+v %v", s, err)
		}
		return ""
	})
}
