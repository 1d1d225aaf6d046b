package router

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/hydrakit/hydrakit/keyspace"
)

// route is a pattern of a service, ranked in the table.
type route struct {
	*pattern
	service string
	rank    int // position in table.sorted
}

// table is an immutable route table; a refresh builds a new one and swaps it in.
type table struct {
	services []string            // sorted; list/routes order
	routes   map[string][]string // service → raw patterns, as read
	names    map[string]bool     // every service with a nodes entry or routes: passthrough targets
	compiled map[string][]*route // service → its routes in registration order
	sorted   []*route            // every route, most specific first
	// trie indexes sorted by the leading literal segments of each pattern: a route sits at the
	// node of its last leading literal segment, and can only match paths passing that node.
	trie *trieNode
}

type trieNode struct {
	children map[string]*trieNode
	routes   []*route // in sorted's order
}

// buildTable compiles routes (service → raw patterns); patterns that do not compile are returned
// as errors and left out.
func buildTable(routes map[string][]string, names ...string) (*table, []error) {
	t := &table{routes: routes, compiled: map[string][]*route{}, names: map[string]bool{}}
	for _, n := range names {
		t.names[n] = true
	}
	var errs []error
	for svc, patterns := range routes {
		t.names[svc] = true
		t.services = append(t.services, svc)
		for _, raw := range patterns {
			p, err := compilePattern(raw)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", svc, err))
				continue
			}
			rt := &route{pattern: p, service: svc}
			t.compiled[svc] = append(t.compiled[svc], rt)
			t.sorted = append(t.sorted, rt)
		}
	}
	slices.Sort(t.services)
	slices.SortStableFunc(t.sorted, func(a, b *route) int {
		if more, differ := moreSpecific(a.kinds, b.kinds); differ {
			if more {
				return -1
			}
			return 1
		}
		// Same shape: the longer literal text, then service and pattern, for a stable order.
		return cmp.Or(cmp.Compare(len(b.text), len(a.text)), cmp.Compare(a.service, b.service),
			cmp.Compare(a.raw, b.raw))
	})
	t.trie = &trieNode{}
	for i, rt := range t.sorted {
		rt.rank = i
		n := t.trie
		for j, seg := range strings.Split(rt.text, "/") {
			if rt.kinds[j] != kindLiteral {
				break
			}
			child, ok := n.children[seg]
			if !ok {
				if n.children == nil {
					n.children = map[string]*trieNode{}
				}
				child = &trieNode{}
				n.children[seg] = child
			}
			n = child
		}
		n.routes = append(n.routes, rt)
	}
	return t, errs
}

// match calls yield with the routes matching method and path, most specific first, until it
// returns false. It walks the trie along the path's segments and merges, in rank order, the routes
// of the nodes it passes.
func (t *table) match(method, path string, yield func(*route) bool) {
	var buf [16][]*route
	lists := buf[:0]
	n, rest := t.trie, path
	for {
		if len(n.routes) > 0 {
			lists = append(lists, n.routes)
		}
		seg, more := rest, false
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			seg, rest, more = rest[:i], rest[i+1:], true
		}
		if n = n.children[seg]; n == nil {
			break
		}
		if !more {
			if len(n.routes) > 0 {
				lists = append(lists, n.routes)
			}
			break
		}
	}
	for {
		best := -1
		for i, l := range lists {
			if len(l) > 0 && (best < 0 || l[0].rank < lists[best][0].rank) {
				best = i
			}
		}
		if best < 0 {
			return
		}
		rt := lists[best][0]
		lists[best] = lists[best][1:]
		if rt.matchMethod(method) && rt.matchPath(path) && !yield(rt) {
			return
		}
	}
}

// known reports whether service is one the passthrough and Referer fallbacks route to: a service
// with routes, as in hydra-router, or with a nodes entry (a Go service that registered no routes).
func (t *table) known(service string) bool {
	return t.names[service] && service != keyspace.RouterService && !strings.Contains(service, "://")
}

// serviceOfNode returns the serviceName of a nodes-hash entry.
func serviceOfNode(raw string) string {
	var n struct {
		ServiceName string `json:"serviceName"`
	}
	if json.Unmarshal([]byte(raw), &n) != nil {
		return ""
	}
	return n.ServiceName
}

// loadRoutes reads the route sets of services (at most MaxServices, MaxRoutes each) in one
// pipeline. A service without routes is left out.
func (r *Router) loadRoutes(ctx context.Context, services []string) (map[string][]string, error) {
	slices.Sort(services)
	services = slices.Compact(services)
	if len(services) > MaxServices {
		r.logger.Log("level", "warn", "msg", "route table full: services left out", "services", len(services), "max", MaxServices)
		services = services[:MaxServices]
	}
	out := make(map[string][]string, len(services))
	if len(services) == 0 {
		return out, nil
	}
	pipe := r.state.Redis.Pipeline()
	cmds := make([]interface{ Val() []string }, len(services))
	for i, svc := range services {
		cmds[i] = pipe.SRandMemberN(ctx, r.state.Keys.Routes(svc), MaxRoutes+1)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("router: read routes: %w", err)
	}
	for i, svc := range services {
		routes := cmds[i].Val()
		if len(routes) == 0 {
			continue
		}
		if len(routes) > MaxRoutes {
			r.logger.Log("level", "warn", "msg", "too many routes: some left out", "service", svc, "max", MaxRoutes)
			routes = routes[:MaxRoutes]
		}
		slices.Sort(routes)
		out[svc] = routes
	}
	return out, nil
}

// reload re-reads the routes of every service in the nodes hash (service "" ) or of one service,
// and swaps in the new table. Routes that are gone from Redis are gone from the table.
func (r *Router) reload(ctx context.Context, service string) error {
	r.loadMu.Lock()
	defer r.loadMu.Unlock()
	if r.table.Load() == nil {
		service = "" // a broadcast heard before the first load: that load reads every service
	}
	ctx, cancel := context.WithTimeout(ctx, loadTimeout)
	defer cancel()
	next := map[string][]string{}
	var names []string
	if service == "" {
		nodes, err := r.state.Redis.HGetAll(ctx, r.state.Keys.Nodes()).Result()
		if err != nil {
			return fmt.Errorf("router: read nodes: %w", err)
		}
		services := []string{keyspace.RouterService}
		for _, raw := range nodes {
			if svc := serviceOfNode(raw); svc != "" {
				services = append(services, svc)
			}
		}
		names = slices.Clone(services)
		loaded, err := r.loadRoutes(ctx, services)
		if err != nil {
			return err
		}
		next = loaded
	} else {
		svc, err := keyspace.ValidateService(service)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrConfig, err)
		}
		loaded, err := r.loadRoutes(ctx, []string{svc})
		if err != nil {
			return err
		}
		prev := r.table.Load()
		for s, routes := range prev.routes {
			if !strings.Contains(s, "://") {
				next[s] = routes
			}
		}
		for s := range prev.names {
			names = append(names, s)
		}
		delete(next, svc)
		if routes, ok := loaded[svc]; ok {
			if _, had := next[svc]; !had && len(next) >= MaxServices {
				return fmt.Errorf("router: route table full (%d services)", MaxServices)
			}
			next[svc] = routes
		}
	}
	for base, routes := range r.cfg.external {
		next[base] = routes
	}
	slices.Sort(names)
	names = slices.Compact(names)
	t, errs := buildTable(next, names[:min(len(names), MaxServices)]...)
	for _, err := range errs {
		r.logger.Log("level", "warn", "msg", "route left out", "err", err)
	}
	r.table.Store(t)
	return nil
}

func firstSegment(path string) string {
	rest := strings.TrimPrefix(path, "/")
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return rest[:i]
	}
	return rest
}
