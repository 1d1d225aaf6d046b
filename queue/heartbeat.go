package queue

import (
	"context"
	"sync"

	goredis "github.com/redis/go-redis/v9"
)

// heldSet is the consumer's leased, unsettled messages, whose leases the heartbeat renews.
type heldSet struct {
	mu sync.Mutex
	m  map[string]*Delivery // by lease token
}

func (h *heldSet) add(d *Delivery) {
	h.mu.Lock()
	h.m[d.token] = d
	h.mu.Unlock()
}

func (h *heldSet) remove(d *Delivery) {
	h.mu.Lock()
	delete(h.m, d.token)
	h.mu.Unlock()
}

func (h *heldSet) all() []*Delivery {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*Delivery, 0, len(h.m))
	for _, d := range h.m {
		out = append(out, d)
	}
	return out
}

// heartbeatLoop renews the leases of held messages every lease/5, so that a live consumer keeps its
// work however long a handler runs. An idle consumer sends nothing.
func (c *Consumer) heartbeatLoop(ctx context.Context) {
	tick, stop := c.ticker(waitHeartbeat, c.lease/5)
	defer stop()
	for {
		c.waiting(ctx, waitHeartbeat)
		select {
		case <-ctx.Done():
			return
		case <-tick:
			if err := c.renew(ctx); err != nil && ctx.Err() == nil {
				c.logger.Log("msg", "lease renewal failed", "err", err)
			}
		}
	}
}

// renew pushes the deadline of every held lease forward. ZADD XX never recreates a lease the
// recoverer removed, so renewal cannot resurrect a message already handed to someone else.
func (c *Consumer) renew(ctx context.Context) error {
	held := c.held.all()
	if len(held) == 0 {
		return nil
	}
	deadline := float64(c.now().Add(c.lease).UnixMilli())
	n := len(held)
	_, err := c.rdb.Pipelined(ctx, func(pipe goredis.Pipeliner) error {
		for len(held) > 0 {
			n := min(len(held), maxSettle)
			zs := make([]goredis.Z, n)
			for i, d := range held[:n] {
				zs[i] = goredis.Z{Score: deadline, Member: d.token}
			}
			pipe.ZAddXX(ctx, c.keys.leases, zs...)
			held = held[n:]
		}
		return nil
	})
	if err == nil {
		c.mx.extended.Add(float64(n))
	}
	return err
}
