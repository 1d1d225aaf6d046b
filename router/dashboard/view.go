package dashboard

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// view is what the last read found; only the snapshot loop touches it.
type view struct {
	nodes      map[string]Instance // every nodes entry, by instance ID
	services   []string            // followed, by name
	unfollowed int
	routes     map[string][]string
	routeCount map[string]int
	health     map[string]*Health // of live instances, by instance ID
	queues     map[string]Queue
	traffic    map[string]Traffic // the last counts, for the next rates
	trafficAt  time.Time
	rates      map[string][2]float64 // requests and errors per second
	err        error
}

func (v *view) init() {
	v.nodes, v.routes, v.routeCount = map[string]Instance{}, map[string][]string{}, map[string]int{}
	v.health, v.queues, v.rates = map[string]*Health{}, map[string]Queue{}, map[string][2]float64{}
}

// read refreshes the view: the nodes hash (one HGETALL), the followed services' Instancers, then one
// pipeline of routes sets and live instances' health keys, and one queue read per service.
func (d *Dashboard) read(ctx context.Context) error {
	hash, err := d.rdb.HGetAll(ctx, d.keys.Nodes()).Result()
	if err != nil {
		return fmt.Errorf("dashboard: read nodes: %w", err)
	}
	nodes, _ := parseNodes(hash)
	var names []string
	for _, in := range nodes {
		names = append(names, in.Service)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	followed := names[:min(len(names), d.cfg.maxServices)]
	d.syncFollowers(followed)
	v := &d.view
	v.nodes, v.unfollowed, v.services = nodes, len(names)-len(followed), v.services[:0]
	for _, name := range followed {
		if d.followers[name] != nil {
			v.services = append(v.services, name)
		}
	}
	if err := d.readDetails(ctx); err != nil {
		return err
	}
	d.readTraffic()
	return nil
}

// syncFollowers starts an Instancer for each newly followed service and stops those of services no
// longer followed (their nodes entries were cleared, or the cap was reached).
func (d *Dashboard) syncFollowers(followed []string) {
	for name, f := range d.followers {
		if !slices.Contains(followed, name) {
			f.close()
			delete(d.followers, name)
			d.mu.Lock()
			delete(d.live, name)
			d.mu.Unlock()
		}
	}
	for _, name := range followed {
		if d.followers[name] != nil {
			continue
		}
		f, err := d.follow(name)
		if err != nil {
			d.logger.Log("msg", "cannot follow service", "service", name, "err", err)
			continue
		}
		d.followers[name] = f
	}
}

func (d *Dashboard) readDetails(ctx context.Context) error {
	v := &d.view
	d.mu.Lock()
	live := make(map[string][]string, len(v.services))
	for _, name := range v.services {
		for id := range d.live[name].ids {
			live[name] = append(live[name], id)
		}
	}
	d.mu.Unlock()
	pipe := d.rdb.Pipeline()
	routes := make(map[string]*goredis.StringSliceCmd, len(v.services))
	health := map[string]*goredis.StringCmd{}
	for _, name := range v.services {
		routes[name] = pipe.SMembers(ctx, d.keys.Routes(name))
		for _, id := range live[name] {
			health[id] = pipe.GetRange(ctx, d.keys.Health(name, id), 0, maxHealth-1)
		}
	}
	if len(routes) > 0 {
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, goredis.Nil) {
			return fmt.Errorf("dashboard: read routes and health: %w", err)
		}
	}
	clear(v.routes)
	clear(v.routeCount)
	for name, cmd := range routes {
		rs := cmd.Val()
		slices.Sort(rs)
		v.routes[name], v.routeCount[name] = rs[:min(len(rs), MaxRoutes)], len(rs)
	}
	clear(v.health)
	for id, cmd := range health {
		if raw := cmd.Val(); raw != "" {
			v.health[id] = parseHealth(raw)
		}
	}
	clear(v.queues)
	for _, name := range v.services {
		st, err := d.inspector.Stats(ctx, name)
		if err != nil {
			return fmt.Errorf("dashboard: read queue of %s: %w", name, err)
		}
		v.queues[name] = Queue{Received: st.Received, InProgress: st.InProgress, DeadLetters: st.Incomplete}
	}
	return nil
}

// readTraffic asks the router for its counts and turns them into rates.
func (d *Dashboard) readTraffic() {
	if d.cfg.traffic != nil {
		d.view.updateRates(d.now(), d.cfg.traffic())
	}
}

// updateRates turns cumulative counts into rates over the time since the last counts. A count that
// went down (a restarted counter) gives no rate that time.
func (v *view) updateRates(now time.Time, counts []Traffic) {
	dt := now.Sub(v.trafficAt).Seconds()
	cur := make(map[string]Traffic, len(counts))
	clear(v.rates)
	for _, t := range counts {
		cur[t.Service] = t
		prev, ok := v.traffic[t.Service]
		if !ok || dt <= 0 || t.Requests < prev.Requests || t.Errors < prev.Errors {
			continue
		}
		v.rates[t.Service] = [2]float64{float64(t.Requests-prev.Requests) / dt, float64(t.Errors-prev.Errors) / dt}
	}
	v.traffic, v.trafficAt = cur, now
}

// snapshot builds what the page draws from the view and the live sets (the caller holds d.mu).
func (v *view) snapshot(live map[string]liveSet, router RouterInfo, at time.Time) Snapshot {
	s := Snapshot{
		Router: router, At: at, Unfollowed: v.unfollowed,
		Services: []Service{}, Instances: []Instance{}, Clients: Clients{IDs: []string{}},
	}
	if v.err != nil {
		s.Error = v.err.Error()
	}
	followed := make(map[string]bool, len(v.services))
	for _, name := range v.services {
		followed[name] = true
		set := live[name]
		if set.err != nil && s.Error == "" {
			s.Error = set.err.Error()
		}
		rate, t := v.rates[name], v.traffic[name]
		s.Services = append(s.Services, Service{
			Name: name, Live: len(set.ids), Routes: nonNil(v.routes[name]), RoutesTotal: v.routeCount[name],
			Queue: v.queues[name], Requests: t.Requests, Errors: t.Errors, RequestRate: rate[0], ErrorRate: rate[1],
		})
	}
	var alive, dead []Instance
	for id, in := range v.nodes {
		if !followed[in.Service] {
			continue
		}
		if in.Live = live[in.Service].ids[id]; in.Live {
			in.Health = v.health[id]
			alive = append(alive, in)
		} else {
			dead = append(dead, in)
		}
	}
	// An instance whose presence came before the read of its nodes entry gets a tile at once.
	for _, name := range v.services {
		for id := range live[name].ids {
			if _, ok := v.nodes[id]; !ok {
				alive = append(alive, Instance{Service: name, ID: id, Live: true})
			}
		}
	}
	// Past the cap, the dead seen longest ago go first.
	slices.SortFunc(dead, func(a, b Instance) int { return b.UpdatedOn.Compare(a.UpdatedOn) })
	tiles := append(alive[:min(len(alive), MaxTiles)], dead[:min(len(dead), MaxTiles-min(len(alive), MaxTiles))]...)
	s.Hidden = len(alive) + len(dead) - len(tiles)
	slices.SortFunc(tiles, func(a, b Instance) int {
		return cmp.Or(cmp.Compare(a.Service, b.Service), cmp.Compare(a.ID, b.ID))
	})
	s.Instances = append(s.Instances, tiles...)
	return s
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
