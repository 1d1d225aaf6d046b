package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/umf"
)

// Inspector reads and administers queues: the API a CLI or a dashboard builds on.
type Inspector struct {
	client goredis.UniversalClient
	scheme keyspace.Scheme
	now    func() time.Time
}

// InspectorOption configures an Inspector.
type InspectorOption func(*Inspector)

// InspectorKeyspace sets the key scheme (default keyspace.Default).
func InspectorKeyspace(s keyspace.Scheme) InspectorOption { return func(i *Inspector) { i.scheme = s } }

// InspectorClock sets the clock ages are measured with (default time.Now).
func InspectorClock(now func() time.Time) InspectorOption { return func(i *Inspector) { i.now = now } }

// NewInspector returns an Inspector on client, which it never closes.
func NewInspector(client goredis.UniversalClient, options ...InspectorOption) *Inspector {
	i := &Inspector{client: client, scheme: keyspace.Default, now: time.Now}
	for _, o := range options {
		o(i)
	}
	return i
}

// Stats is a snapshot of one service's queue.
type Stats struct {
	Received   int64 // waiting
	InProgress int64 // being processed, by Go or Node consumers
	Leased     int64 // in progress under a Go consumer's lease; the rest are Node's (or orphans)
	Incomplete int64 // dead letters
	Delayed    int64 // retries and delayed enqueues not yet due
	// Ages of the next message in line and of the oldest in progress, from their ts field (zero when
	// the list is empty or the message has no readable ts).
	OldestReceived, OldestInProgress time.Duration
}

// Stats reads a queue's lengths and ages in one round trip.
func (i *Inspector) Stats(ctx context.Context, service string) (Stats, error) {
	k, err := i.keys(service)
	if err != nil {
		return Stats{}, err
	}
	pipe := i.client.Pipeline()
	received, inProgress := pipe.LLen(ctx, k.received), pipe.LLen(ctx, k.inProgress)
	incomplete, leased, delayed := pipe.LLen(ctx, k.incomplete), pipe.ZCard(ctx, k.leases), pipe.ZCard(ctx, k.delayed)
	nextReceived, oldestInProgress := pipe.LIndex(ctx, k.received, -1), pipe.LIndex(ctx, k.inProgress, -1)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, goredis.Nil) {
		return Stats{}, fmt.Errorf("queue: stats: %w", err)
	}
	return Stats{
		Received: received.Val(), InProgress: inProgress.Val(), Leased: leased.Val(),
		Incomplete: incomplete.Val(), Delayed: delayed.Val(),
		OldestReceived:   i.age(nextReceived.Val()),
		OldestInProgress: i.age(oldestInProgress.Val()),
	}, nil
}

func (i *Inspector) age(raw string) time.Duration {
	if raw == "" {
		return 0
	}
	m, err := umf.Unmarshal([]byte(raw))
	if err != nil {
		return 0
	}
	ts, err := time.Parse(time.RFC3339Nano, m.Timestamp)
	if err != nil {
		return 0
	}
	return max(i.now().Sub(ts), 0)
}

// Item is a dead letter.
type Item struct {
	Raw     []byte       // exact bytes, the handle for Requeue and Delete
	Message *umf.Message // nil when Raw is no UMF
	Reason  string       // bdy.reason
}

// Incomplete lists up to count dead letters from position start, oldest first.
func (i *Inspector) Incomplete(ctx context.Context, service string, start, count int64) ([]Item, error) {
	k, err := i.keys(service)
	if err != nil {
		return nil, err
	}
	raws, err := i.client.LRange(ctx, k.incomplete, start, start+count-1).Result()
	if err != nil {
		return nil, fmt.Errorf("queue: list incomplete: %w", err)
	}
	items := make([]Item, len(raws))
	for n, raw := range raws {
		items[n].Raw = []byte(raw)
		if m, err := umf.Unmarshal(items[n].Raw); err == nil {
			items[n].Message = m
			var body struct {
				Reason string `json:"reason"`
			}
			if json.Unmarshal(m.Body, &body) == nil {
				items[n].Reason = body.Reason
			}
		}
	}
	return items, nil
}

func (i *Inspector) keys(service string) (keys, error) {
	name, err := keyspace.ValidateService(service)
	if err != nil {
		return keys{}, fmt.Errorf("queue: %w", err)
	}
	return newKeys(i.scheme, name), nil
}
