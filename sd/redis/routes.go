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
// reads the nodes hash and their presence keys, never the keyspace.
func (r *Registrar) RegisterRoutes(ctx context.Context, routes ...string) error {
	svc := r.svc.Name
	members := make([]any, 0, len(routes)+3)
	for _, rt := range routes {
		members = append(members, rt)
	}
	members = append(members, "[get]/"+svc, "[get]/"+svc+"/", "[get]/"+svc+"/:rest")
	key := r.keys.Routes(svc)
	if _, err := r.client.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.Del(ctx, key)
		p.SAdd(ctx, key, members...)
		return nil
	}); err != nil {
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
