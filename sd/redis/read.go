package redis

import (
	"context"
	"fmt"
	"time"
)

// readKind says how much a read re-reads.
type readKind int

const (
	// readPresence counts the live instances' presence keys with one EXISTS and looks them up again only
	// when one is gone: the cheap steady-state check, every resync.
	readPresence readKind = iota
	// readIndex re-reads the index set and looks its members up with the live ones: after an
	// announcement of a join or leave.
	readIndex
	// readFull re-reads the index, scans the nodes hash for Node-registered instances and re-reads every
	// entry: every nodes-scan interval, and after a failure.
	readFull
)

// read returns the live instances, given the result of the previous successful read.
func (w *watch) read(ctx context.Context, kind readKind, live []Instance) ([]Instance, error) {
	ctx, cancel := context.WithTimeout(ctx, w.timeout())
	defer cancel()
	ids := make([]string, len(live))
	for i, in := range live {
		ids[i] = in.ID
	}
	switch kind {
	case readPresence:
		if len(ids) == 0 {
			return live, nil
		}
		keys := make([]string, len(ids))
		for i, id := range ids {
			keys[i] = w.f.keys.Presence(w.f.service, id)
		}
		n, err := w.f.client.Exists(ctx, keys...).Result()
		if err != nil {
			return nil, fmt.Errorf("redis: check %s presence: %w", w.f.service, err)
		}
		if int(n) == len(live) {
			return live, nil
		}
		return w.f.lookup(ctx, ids, byID(live))
	case readIndex:
		indexed, err := w.f.indexed(ctx)
		if err != nil {
			return nil, err
		}
		return w.f.lookup(ctx, union(indexed, ids), byID(live))
	}
	candidates, err := w.f.candidates(ctx, w.key.nodesScan > 0)
	if err != nil {
		return nil, err
	}
	return w.f.lookup(ctx, candidates, nil)
}

func byID(live []Instance) map[string]Instance {
	m := make(map[string]Instance, len(live))
	for _, in := range live {
		m[in.ID] = in
	}
	return m
}

// fullEvery is how often the loop does a full read: the nodes-scan interval, or Node's 3 s without it.
func (w *watch) fullEvery() time.Duration {
	if w.key.nodesScan > 0 {
		return w.key.nodesScan
	}
	return DefaultNodesScan
}
