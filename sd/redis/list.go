package redis

import (
	"context"
	"fmt"
	"slices"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/fleet"
	"github.com/hydrakit/hydrakit/keyspace"
)

// nodesScanCount is the HSCAN page size over the nodes hash: large enough that a fleet of a few
// thousand instances costs a few commands, small enough that no single command blocks Redis for long.
const nodesScanCount = 1000

// ListInstances returns the live instances of a service, sorted by instance ID: those registered by
// hydrakit Registrars and by Node Hydra alike. An instance is live, as for Node, when its presence key
// exists and it has a nodes-hash entry. It reads the service's own keys plus one HSCAN pass over the
// fleet-wide nodes hash (never the keyspace); an Instancer avoids even that on its fast path.
func ListInstances(ctx context.Context, client *hydrakit.Client, service string) ([]Instance, error) {
	state := fleet.Of(client)
	if state == nil {
		return nil, fmt.Errorf("%w: nil client", ErrConfig)
	}
	return listInstances(ctx, state.Redis, state.Keys, service)
}

func listInstances(ctx context.Context, client goredis.UniversalClient, keys keyspace.Scheme, service string) ([]Instance, error) {
	service, err := keyspace.ValidateService(service)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	f := &finder{client: client, keys: keys, service: service}
	ids, err := f.candidates(ctx, true)
	if err != nil {
		return nil, err
	}
	return f.lookup(ctx, ids, nil)
}

// finder reads the instances of one service.
type finder struct {
	client  goredis.UniversalClient
	keys    keyspace.Scheme
	service string
}

// indexed returns the instance IDs hydrakit Registrars announced in the service's index set.
func (f *finder) indexed(ctx context.Context) ([]string, error) {
	ids, err := f.client.SMembers(ctx, indexKey(f.keys, f.service)).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: read index of %s: %w", f.service, err)
	}
	return ids, nil
}

// candidates returns the index members and, with scan, the IDs of the service's nodes-hash entries,
// live or not (Node Hydra instances are indexed nowhere else). The index read and the first HSCAN page
// share a round trip.
func (f *finder) candidates(ctx context.Context, scan bool) ([]string, error) {
	if !scan {
		return f.indexed(ctx)
	}
	pipe := f.client.Pipeline()
	members := pipe.SMembers(ctx, indexKey(f.keys, f.service))
	page := pipe.HScan(ctx, f.keys.Nodes(), 0, "", nodesScanCount)
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("redis: read %s candidates: %w", f.service, err)
	}
	ids := members.Val()
	kv, cursor := page.Val()
	for {
		for i := 0; i+1 < len(kv); i += 2 {
			raw := []byte(kv[i+1])
			if !belongsTo(raw, f.service) {
				continue
			}
			if in, err := parseEntry(raw); err == nil && in.Service == f.service {
				ids = append(ids, kv[i])
			}
		}
		if cursor == 0 {
			return union(ids, nil), nil
		}
		var err error
		if kv, cursor, err = f.client.HScan(ctx, f.keys.Nodes(), cursor, "", nodesScanCount).Result(); err != nil {
			return nil, fmt.Errorf("redis: scan nodes: %w", err)
		}
	}
}

// lookup returns the live instances among ids, sorted by ID: one MGET of their presence keys, then
// one HMGET of the nodes entries of the live ones not in known. Instance IDs are never reused and an
// entry only changes in updatedOn, so a watch need not re-read entries it holds; dead candidates (a
// nodes hash that Node lets grow forever) cost a key lookup each, never an entry read. Malformed entries
// are skipped.
func (f *finder) lookup(ctx context.Context, ids []string, known map[string]Instance) ([]Instance, error) {
	if len(ids) == 0 {
		return []Instance{}, nil
	}
	presence := make([]string, len(ids))
	for i, id := range ids {
		presence[i] = f.keys.Presence(f.service, id)
	}
	alive, err := f.client.MGet(ctx, presence...).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: look up %s instances: %w", f.service, err)
	}
	live := make([]Instance, 0, len(ids))
	var unknown []string
	for i, v := range alive {
		if v == nil {
			continue
		}
		if in, ok := known[ids[i]]; ok {
			live = append(live, in)
		} else {
			unknown = append(unknown, ids[i])
		}
	}
	if len(unknown) > 0 {
		entries, err := f.client.HMGet(ctx, f.keys.Nodes(), unknown...).Result()
		if err != nil {
			return nil, fmt.Errorf("redis: read %s nodes entries: %w", f.service, err)
		}
		for i, v := range entries {
			raw, ok := v.(string)
			if !ok {
				continue
			}
			if in, err := parseEntry([]byte(raw)); err == nil && in.ID == unknown[i] && in.Service == f.service {
				live = append(live, in)
			}
		}
	}
	slices.SortFunc(live, func(a, b Instance) int { return strings.Compare(a.ID, b.ID) })
	return live, nil
}

// union merges two ID lists without duplicates.
func union(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}
