package redis

import (
	"context"
	"fmt"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/umf"
)

// routeRefresh is the body of the broadcast that tells hydra-routers to reload a service's routes.
type routeRefresh struct {
	Action      string `json:"action"`
	ServiceName string `json:"serviceName"`
}

// RegisterRoutes replaces the service's route set, as Node's registerRoutes does: the given routes
// ("[get]/v1/x") plus the three Node adds ([get]/<svc>, [get]/<svc>/, [get]/<svc>/:rest). When a
// hydra-router is live it then broadcasts hydra-router:/refresh so routers reload them. Finding routers
// reads the nodes hash and their presence keys, never the keyspace. The Registrar keeps the routes and
// writes them again, telling routers, whenever it re-registers (after Redis lost its data, an outage
// or an expired presence), so a Redis restarted empty gets them back with the rest.
func (r *Registrar) RegisterRoutes(ctx context.Context, routes ...string) error {
	r.routesMu.Lock()
	r.routes = append([]string{}, routes...) // non-nil: routes were registered, even none
	r.routesMu.Unlock()
	return r.writeRoutes(ctx)
}

// writeRoutes writes the routes last given to RegisterRoutes, if any, and tells live routers.
func (r *Registrar) writeRoutes(ctx context.Context) error {
	svc := r.svc.Name
	r.routesMu.Lock()
	if r.routes == nil {
		r.routesMu.Unlock()
		return nil
	}
	members := make([]any, 0, len(r.routes)+3)
	for _, rt := range r.routes {
		members = append(members, rt)
	}
	members = append(members, "[get]/"+svc, "[get]/"+svc+"/", "[get]/"+svc+"/:rest")
	key := r.keys.Routes(svc)
	// Under the lock, so that a re-registration cannot write an older set over a newer one.
	_, err := r.client.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.Del(ctx, key)
		p.SAdd(ctx, key, members...)
		return nil
	})
	r.routesMu.Unlock()
	if err != nil {
		return fmt.Errorf("redis: register routes: %w", err)
	}
	if svc == keyspace.RouterService {
		return nil // a router does not notify itself, as in Node
	}
	routers, err := listInstances(ctx, r.client, r.keys, keyspace.RouterService)
	if err != nil {
		return fmt.Errorf("redis: find routers: %w", err)
	}
	if len(routers) == 0 {
		return nil
	}
	msg, err := umf.New(keyspace.RouterService+":/refresh", svc+":/", routeRefresh{Action: "refresh", ServiceName: svc})
	if err != nil {
		return err
	}
	raw, err := msg.Marshal()
	if err != nil {
		return err
	}
	if err := r.client.Publish(ctx, r.keys.RouterChannel(), raw).Err(); err != nil {
		return fmt.Errorf("redis: announce routes: %w", err)
	}
	return nil
}
