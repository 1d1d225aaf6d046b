package redis

import (
	"context"
	"fmt"
	"time"

	"github.com/go-kit/log"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit/keyspace"
)

// janitor removes nodes-hash entries (and index members) of instances that have had no presence for a
// grace period: Node Hydra never removes them, so the hash grows with every process ever started. Every
// Registrar runs one; a lock key lets only one of them act per period across the fleet.
type janitor struct {
	client goredis.UniversalClient
	keys   keyspace.Scheme
	owner  string // instance ID written into the lock, for whoever inspects it
	grace  time.Duration
	now    func() time.Time
	logger log.Logger
	ticks  <-chan time.Time // when to sweep; nil: every period
}

// period is how often a janitor tries to act, and how long the lock it takes lasts.
func (j *janitor) period() time.Duration { return j.grace / 2 }

func (j *janitor) run(ctx context.Context) {
	ticks := j.ticks
	if ticks == nil {
		t := time.NewTicker(j.period())
		defer t.Stop()
		ticks = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticks:
		}
		removed, err := j.sweep(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			j.logger.Log("msg", "janitor failed", "err", err)
		case removed > 0:
			j.logger.Log("msg", "janitor removed dead nodes entries", "removed", removed)
		}
	}
}

// sweep takes the fleet's janitor lock and, if it got it, removes the dead entries. It returns how many
// nodes entries it removed. An instance that comes back between the check and the removal rewrites its
// entry and index member at its next refresh, a second later.
func (j *janitor) sweep(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, j.period())
	defer cancel()
	ok, err := j.client.SetNX(ctx, janitorLock(j.keys), j.owner, j.period()).Result()
	if err != nil || !ok {
		return 0, err
	}
	entries := map[string]Instance{} // every parseable entry, by ID
	var cursor uint64
	for {
		kv, next, err := j.client.HScan(ctx, j.keys.Nodes(), cursor, "", nodesScanCount).Result()
		if err != nil {
			return 0, fmt.Errorf("redis: janitor: scan nodes: %w", err)
		}
		for i := 0; i+1 < len(kv); i += 2 {
			// Entries we cannot parse are left alone: they are not ours to judge.
			if in, err := parseEntry([]byte(kv[i+1])); err == nil && in.ID == kv[i] {
				entries[in.ID] = in
			}
		}
		if cursor = next; cursor == 0 {
			break
		}
	}
	cutoff := j.now().Add(-j.grace)
	var old []Instance
	for _, in := range entries {
		if in.UpdatedOn.Before(cutoff) {
			old = append(old, in)
		}
	}
	dead, err := j.absent(ctx, old)
	if err != nil {
		return 0, err
	}
	stale, err := j.staleMembers(ctx, entries)
	if err != nil {
		return 0, err
	}
	if len(dead) == 0 && len(stale) == 0 {
		return 0, nil
	}
	pipe := j.client.Pipeline()
	for _, in := range dead {
		pipe.HDel(ctx, j.keys.Nodes(), in.ID)
		pipe.SRem(ctx, indexKey(j.keys, in.Service), in.ID)
	}
	for _, in := range stale {
		pipe.SRem(ctx, indexKey(j.keys, in.Service), in.ID)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, fmt.Errorf("redis: janitor: remove: %w", err)
	}
	return len(dead), nil
}

// absent returns the instances among candidates whose presence key does not exist.
func (j *janitor) absent(ctx context.Context, candidates []Instance) ([]Instance, error) {
	if len(candidates) == 0 {
		return nil, nil
	}
	pipe := j.client.Pipeline()
	exists := make([]*goredis.IntCmd, len(candidates))
	for i, in := range candidates {
		exists[i] = pipe.Exists(ctx, j.keys.Presence(in.Service, in.ID))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("redis: janitor: check presence: %w", err)
	}
	var out []Instance
	for i, in := range candidates {
		if exists[i].Val() == 0 {
			out = append(out, in)
		}
	}
	return out, nil
}

// staleMembers returns the index members, of the services that have nodes entries, that have neither
// a nodes entry nor presence (their entry was removed by someone else, e.g. hydra-cli).
func (j *janitor) staleMembers(ctx context.Context, entries map[string]Instance) ([]Instance, error) {
	services := map[string]bool{}
	for _, in := range entries {
		services[in.Service] = true
	}
	if len(services) == 0 {
		return nil, nil
	}
	pipe := j.client.Pipeline()
	members := map[string]*goredis.StringSliceCmd{}
	for svc := range services {
		members[svc] = pipe.SMembers(ctx, indexKey(j.keys, svc))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("redis: janitor: read indexes: %w", err)
	}
	var orphans []Instance
	for svc, cmd := range members {
		for _, id := range cmd.Val() {
			if _, ok := entries[id]; !ok {
				orphans = append(orphans, Instance{ID: id, Service: svc})
			}
		}
	}
	return j.absent(ctx, orphans)
}
