package queue

import (
	"context"
	"testing"
	"time"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/umf"
)

func TestProducerWritesNormalizedBytesInOrder(t *testing.T) {
	c := miniFleet(t)
	ctx := context.Background()
	bodies := []string{`{"b":1,"2":[1.50,{"x":"<>&"}],"1":"\u2028é"}`, `"plain"`, `[1e21, 0.1]`}
	var msgs []*umf.Message
	for _, b := range bodies {
		m := newMessage(t, "Work", nil)
		m.Body = []byte(b)
		msgs = append(msgs, m)
	}
	must(t, producer(t, c).Enqueue(ctx, msgs...))
	k := newKeys(c.Keyspace(), "work") // service names are lower-cased, like registrations
	have, err := c.Redis().LRange(ctx, k.received, 0, -1).Result()
	must(t, err)
	equal(t, len(bodies), len(have))
	for i, m := range msgs {
		raw := have[len(have)-1-i] // consumers take from the right: first enqueued, first out
		norm, err := umf.Normalize([]byte(raw))
		must(t, err)
		equal(t, string(norm), raw)
		back, err := umf.Unmarshal([]byte(raw))
		must(t, err)
		equal(t, m.MID, back.MID)
	}
}

func TestProducerRejectsWhatNodeRejects(t *testing.T) {
	c := miniFleet(t)
	p := producer(t, c)
	for _, m := range map[string]*umf.Message{
		"nil":      nil,
		"no to":    {From: "a:/", Body: []byte(`{}`)},
		"no frm":   {To: "a:/", Body: []byte(`{}`)},
		"no bdy":   {To: "a:/", From: "b:/"},
		"null bdy": {To: "a:/", From: "b:/", Body: []byte(`null`)},
		"bad to":   {To: "nocolon", From: "b:/", Body: []byte(`{}`)},
		"bad name": {To: "a*b:/", From: "b:/", Body: []byte(`{}`)},
		"bad bdy":  {To: "a:/", From: "b:/", Body: []byte(`{`)},
	} {
		isErr(t, p.Enqueue(context.Background(), m), ErrInvalidMessage)
		isErr(t, p.EnqueueAt(context.Background(), m, time.Now().Add(time.Hour)), ErrInvalidMessage)
	}
	// The cause is wrapped too.
	isErr(t, p.Enqueue(context.Background(), &umf.Message{To: "a*b:/", From: "b:/", Body: []byte(`{}`)}), keyspace.ErrInvalidName)
	keys, err := c.Redis().Keys(context.Background(), "*").Result()
	must(t, err)
	equal(t, 0, len(keys))
}

// EnqueueAt tells past from future by the client's clock.
func TestProducerEnqueueAtPastTimeEnqueuesNow(t *testing.T) {
	now := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	_, rdb := redistest.Mini(t)
	c := redistest.Fleet(t, rdb, hydrakit.WithClock(func() time.Time { return now }))
	m := newMessage(t, "svc", "x")
	must(t, producer(t, c).EnqueueAt(context.Background(), m, now))
	equal(t, int64(1), stats(t, c, "svc").Received)
	must(t, producer(t, c).EnqueueAt(context.Background(), m, now.Add(time.Millisecond)))
	equal(t, int64(1), stats(t, c, "svc").Delayed)
}

func TestProducerRedisDown(t *testing.T) {
	srv := redistest.Start(t)
	c := redistest.Fleet(t, srv.Client(t))
	srv.Kill(t)
	if err := producer(t, c).Enqueue(context.Background(), newMessage(t, "svc", 1)); err == nil {
		t.Fatal("enqueue with Redis down succeeded")
	}
}

func TestKeys(t *testing.T) {
	for _, tc := range []struct {
		scheme keyspace.Scheme
		want   keys
	}{
		{keyspace.New(), keys{
			received: "hydra:service:svc:mqrecieved", inProgress: "hydra:service:svc:mqinprogress",
			incomplete: "hydra:service:svc:mqincomplete",
			leases:     "hydra:service:hydrakit:svc:queue:leases", leased: "hydra:service:hydrakit:svc:queue:leased", delayed: "hydra:service:hydrakit:svc:queue:delayed",
			orphans: "hydra:service:hydrakit:svc:queue:orphans", recoveries: "hydra:service:hydrakit:svc:queue:recoveries",
			attempts: "hydra:service:hydrakit:svc:queue:attempts",
			counted:  "hydra:service:hydrakit:svc:queue:counted",
		}},
		{keyspace.New(keyspace.ClusterSafe()), keys{
			received: "hydra:service:{svc}:mqrecieved", inProgress: "hydra:service:{svc}:mqinprogress",
			incomplete: "hydra:service:{svc}:mqincomplete",
			leases:     "hydra:service:hydrakit:{svc}:queue:leases", leased: "hydra:service:hydrakit:{svc}:queue:leased", delayed: "hydra:service:hydrakit:{svc}:queue:delayed",
			orphans: "hydra:service:hydrakit:{svc}:queue:orphans", recoveries: "hydra:service:hydrakit:{svc}:queue:recoveries",
			attempts: "hydra:service:hydrakit:{svc}:queue:attempts",
			counted:  "hydra:service:hydrakit:{svc}:queue:counted",
		}},
	} {
		equal(t, tc.want, newKeys(tc.scheme, "svc"))
	}
}

// The cluster-safe scheme puts every key of a queue under one hash tag; the whole pipeline works on it.
func TestClusterSafeKeyspace(t *testing.T) {
	c := realFleet(t, hydrakit.WithKeyspace(keyspace.New(keyspace.ClusterSafe())))
	svc := service()
	m := newMessage(t, svc, 1)
	must(t, producer(t, c).Enqueue(context.Background(), m))
	done := make(chan string, 1)
	con := startConsumer(t, c, svc, HandlerFunc(func(_ context.Context, d *Delivery) error {
		done <- d.Message.MID
		return nil
	}), fast()...)
	equal(t, m.MID, <-done)
	must(t, con.Close())
	equal(t, Stats{}, stats(t, c, svc))
	equal(t, int64(0), c.Redis().Exists(context.Background(), keyspace.New().QueueReceived(svc)).Val())
}
