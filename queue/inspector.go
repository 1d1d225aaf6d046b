package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/fleet"
	"github.com/hydrakit/hydrakit/internal/trust"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/metrics"
	"github.com/hydrakit/hydrakit/umf"
)

// Inspector reads and administers queues: the API a CLI or a dashboard builds on.
type Inspector struct {
	rdb     goredis.UniversalClient
	scheme  keyspace.Scheme
	now     func() time.Time
	signing *trust.Keys
	metrics *metrics.Queue
}

// NewInspector returns an Inspector on client; ages are measured with the client's clock. A nil
// client is refused with ErrConfig.
func NewInspector(client *hydrakit.Client) (*Inspector, error) {
	st := fleet.Of(client)
	if st == nil {
		return nil, configError("nil client")
	}
	return &Inspector{rdb: st.Redis, scheme: st.Keys, now: st.Now, signing: st.Signing, metrics: &st.Metrics.Queue}, nil
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
	pipe := i.rdb.Pipeline()
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
	raws, err := i.rdb.LRange(ctx, k.incomplete, start, start+count-1).Result()
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
