package router

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/router/internal/envelope"
	"github.com/hydrakit/hydrakit/transport/redispubsub"
	"github.com/hydrakit/hydrakit/umf"
)

// serveAPI answers hydra-router's API, /v1/router/…, with its paths and shapes.
func (r *Router) serveAPI(w http.ResponseWriter, req *http.Request, path string) {
	r.setCORS(w.Header())
	rest := strings.TrimPrefix(path, "/v1/router/")
	get := req.Method == http.MethodGet || req.Method == http.MethodHead
	post := req.Method == http.MethodPost
	ctx := req.Context()
	switch {
	case rest == "version" && get:
		r.ok(w, map[string]string{"version": r.version})
	case rest == "health" && get:
		r.apiHealth(ctx, w)
	case strings.HasPrefix(rest, "list/") && get:
		r.apiList(ctx, w, strings.TrimPrefix(rest, "list/"))
	case rest == "clear" && get:
		r.apiClear(ctx, w, req)
	case rest == "refresh" && get:
		r.apiRefresh(ctx, w, "")
	case strings.HasPrefix(rest, "refresh/") && get && !strings.Contains(rest[len("refresh/"):], "/"):
		r.apiRefresh(ctx, w, rest[len("refresh/"):])
	case rest == "log" && get:
		r.ok(w, map[string][]logEntry{"logs": r.ring.snapshot()})
	case rest == "stats" && get:
		now := r.state.Now()
		r.ok(w, struct {
			HTTP  map[string][]uint32 `json:"httpStats"`
			WS    map[string][]uint32 `json:"wsStats"`
			Error map[string][]uint32 `json:"errorStats"`
		}{r.httpStats.snapshot(now), r.wsStats.snapshot(now), r.errStats.snapshot(now)})
	case rest == "message" && post:
		r.apiMessage(ctx, w, req)
	case rest == "send" && post:
		r.apiSend(ctx, w, req)
	case rest == "queue" && post:
		r.apiQueue(ctx, w, req)
	case strings.HasPrefix(rest, "stream/") && post && validStream(rest[len("stream/"):]):
		r.apiStream(ctx, w, req, rest[len("stream/"):])
	default:
		envelope.Write(w, http.StatusNotFound, nil)
	}
}

func (r *Router) ok(w http.ResponseWriter, result any, extra ...envelope.Field) {
	if err := envelope.Write(w, http.StatusOK, result, extra...); err != nil {
		r.fail(w, http.StatusInternalServerError, err)
	}
}

// fail answers code with {reason}, as hydra-router does for errors.
func (r *Router) fail(w http.ResponseWriter, code int, err error) {
	envelope.Write(w, code, map[string]string{"reason": err.Error()})
}

// apiHealth answers hydra's getHealth() for this instance, and refreshes its health key.
func (r *Router) apiHealth(ctx context.Context, w http.ResponseWriter) {
	s, err := r.reporter.Report(ctx)
	if err != nil {
		r.logger.Log("level", "error", "msg", "health key not written", "err", err)
	}
	r.ok(w, struct {
		ServiceName   string  `json:"serviceName"`
		InstanceID    string  `json:"instanceID"`
		HostName      string  `json:"hostName"`
		SampledOn     string  `json:"sampledOn"`
		ProcessID     int     `json:"processID"`
		Architecture  string  `json:"architecture"`
		Platform      string  `json:"platform"`
		NodeVersion   string  `json:"nodeVersion"`
		Memory        any     `json:"memory"`
		UptimeSeconds float64 `json:"uptimeSeconds"`
	}{s.ServiceName, s.InstanceID, s.HostName, s.SampledOn, s.ProcessID, s.Architecture, s.Platform,
		s.NodeVersion, s.Memory, s.UptimeSeconds})
}

func (r *Router) apiList(ctx context.Context, w http.ResponseWriter, thing string) {
	switch thing {
	case "routes":
		type entry struct {
			ServiceName string   `json:"serviceName"`
			Routes      []string `json:"routes"`
		}
		t := r.table.Load()
		list := make([]entry, 0, len(t.services))
		for _, svc := range t.services {
			e := entry{ServiceName: svc, Routes: []string{}}
			for _, rt := range t.compiled[svc] {
				e.Routes = append(e.Routes, rt.text)
			}
			list = append(list, e)
		}
		r.ok(w, list)
	case "nodes":
		nodes, err := r.nodes(ctx)
		if err != nil {
			r.fail(w, http.StatusInternalServerError, err)
			return
		}
		list := make([]json.RawMessage, len(nodes))
		for i, n := range nodes {
			list[i] = n.withElapsed()
		}
		r.ok(w, list, envelope.Field{Key: "instanceID", Value: r.id},
			envelope.Field{Key: "hostname", Value: r.hostName}, envelope.Field{Key: "version", Value: r.version})
	case "services":
		list, err := r.services(ctx)
		if err != nil {
			r.fail(w, http.StatusInternalServerError, err)
			return
		}
		r.ok(w, list)
	case "wsdir":
		r.ok(w, r.wsdir())
	default:
		envelope.Write(w, http.StatusNotFound, nil)
	}
}

// wsdir is hydra-router's WebSocket client directory across routers: {router: {client: 1}}, this
// router's own clients and those the gateway knows of on the other routers (wsdir broadcasts).
func (r *Router) wsdir() map[string]map[string]int {
	dir := map[string]map[string]int{}
	add := func(router string, clients []string) {
		m := make(map[string]int, len(clients))
		for _, c := range clients {
			m[c] = 1
		}
		dir[router] = m
	}
	for router, clients := range r.gw.Directory() {
		add(router, clients)
	}
	add(r.id, r.gw.Clients())
	return dir
}

// node is a nodes-hash entry.
type node struct {
	id      string
	raw     json.RawMessage // compacted
	service string
	elapsed *int64 // nil when updatedOn does not parse
}

// withElapsed returns the entry with elapsed appended, as hydra's getServiceNodes does.
func (n node) withElapsed() json.RawMessage {
	obj, err := parseObject(n.raw)
	if err != nil {
		return n.raw
	}
	if n.elapsed == nil {
		obj.set("elapsed", json.RawMessage("null"))
	} else {
		obj.set("elapsed", json.RawMessage(fmt.Sprint(*n.elapsed)))
	}
	return obj.marshal()
}

// nodes reads the nodes hash in hash order (HSCAN pages; one for a small fleet). Entries that are
// no JSON object are left out.
func (r *Router) nodes(ctx context.Context) ([]node, error) {
	now := r.state.Now()
	var out []node
	var cursor uint64
	for {
		kv, next, err := r.state.Redis.HScan(ctx, r.state.Keys.Nodes(), cursor, "", 1000).Result()
		if err != nil {
			return nil, fmt.Errorf("router: read nodes: %w", err)
		}
		for i := 0; i+1 < len(kv); i += 2 {
			var buf bytes.Buffer
			if json.Compact(&buf, []byte(kv[i+1])) != nil || !bytes.HasPrefix(buf.Bytes(), []byte("{")) {
				continue
			}
			var fields struct {
				ServiceName string `json:"serviceName"`
				UpdatedOn   string `json:"updatedOn"`
			}
			json.Unmarshal(buf.Bytes(), &fields)
			n := node{id: kv[i], raw: buf.Bytes(), service: fields.ServiceName}
			if t, err := time.Parse(time.RFC3339Nano, fields.UpdatedOn); err == nil {
				e := int64(now.Sub(t) / time.Second) // parseInt truncates toward zero, as this does
				n.elapsed = &e
			}
			out = append(out, n)
		}
		if cursor = next; cursor == 0 {
			return out, nil
		}
	}
}

// services answers list/services: one object per present instance, its nodes entry with
// updatedOnTS, then its health snapshot's fields, then up to three entries of its health log.
func (r *Router) services(ctx context.Context) ([]json.RawMessage, error) {
	nodes, err := r.nodes(ctx)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(nodes, func(a, b node) int { return strings.Compare(a.service, b.service) })
	type reads struct {
		presence *goredis.IntCmd
		health   *goredis.StringCmd
		log      *goredis.StringSliceCmd
	}
	pipe := r.state.Redis.Pipeline()
	rd := make([]reads, 0, len(nodes))
	keys := r.state.Keys
	for _, n := range nodes {
		if _, err := keyspace.ValidateService(n.service); err != nil || keyspace.ValidateInstance(n.id) != nil {
			rd = append(rd, reads{})
			continue
		}
		rd = append(rd, reads{
			presence: pipe.Exists(ctx, keys.Presence(n.service, n.id)),
			health:   pipe.Get(ctx, keys.Health(n.service, n.id)),
			log:      pipe.LRange(ctx, keys.HealthLog(n.service, n.id), 0, 2),
		})
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, goredis.Nil) {
		return nil, fmt.Errorf("router: read presence and health: %w", err)
	}
	out := []json.RawMessage{}
	for i, n := range nodes {
		if rd[i].presence == nil || rd[i].presence.Val() == 0 {
			continue
		}
		obj, err := parseObject(n.raw)
		if err != nil {
			continue
		}
		var updated struct {
			UpdatedOn string `json:"updatedOn"`
		}
		json.Unmarshal(n.raw, &updated)
		if t, err := time.Parse(time.RFC3339Nano, updated.UpdatedOn); err == nil {
			obj.set("updatedOnTS", json.RawMessage(fmt.Sprint(t.UnixMilli())))
		}
		if h, err := parseObject([]byte(rd[i].health.Val())); err == nil {
			for _, k := range h.keys {
				obj.set(k, h.vals[k])
			}
		}
		if entries := rd[i].log.Val(); len(entries) > 0 {
			var logs []json.RawMessage
			for _, e := range entries {
				if json.Valid([]byte(e)) {
					logs = append(logs, json.RawMessage(e))
				}
			}
			if b, err := json.Marshal(logs); err == nil && logs != nil {
				obj.set("log", b)
			}
		}
		out = append(out, obj.marshal())
	}
	return out, nil
}

// apiClear deletes the nodes entries not refreshed for clearAfter and redirects to the dashboard.
func (r *Router) apiClear(ctx context.Context, w http.ResponseWriter, req *http.Request) {
	nodes, err := r.nodes(ctx)
	if err != nil {
		r.fail(w, http.StatusInternalServerError, err)
		return
	}
	var stale []string
	for _, n := range nodes {
		if n.elapsed != nil && *n.elapsed > int64(clearAfter/time.Second) {
			stale = append(stale, n.id)
		}
	}
	if len(stale) > 0 {
		if err := r.state.Redis.HDel(ctx, r.state.Keys.Nodes(), stale...).Err(); err != nil {
			r.fail(w, http.StatusInternalServerError, fmt.Errorf("router: clear nodes: %w", err))
			return
		}
		r.logger.Log("level", "info", "msg", "cleared stale nodes entries", "count", len(stale))
	}
	location := "/"
	if tok := req.URL.Query().Get("token"); tok != "" && tok == r.cfg.token {
		location += "?token=" + tok
	}
	w.Header().Set("Location", location)
	w.WriteHeader(http.StatusFound)
}

func (r *Router) apiRefresh(ctx context.Context, w http.ResponseWriter, service string) {
	if err := r.reload(ctx, service); err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, ErrConfig) {
			code = http.StatusBadRequest
		}
		r.fail(w, code, err)
		return
	}
	r.ok(w, nil)
}

// readUMF reads the UMF message a POST to the API carries; on failure it has answered 400.
func (r *Router) readUMF(w http.ResponseWriter, req *http.Request) (*umf.Message, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, MaxAPIBody))
	if err != nil {
		r.fail(w, http.StatusBadRequest, errNoBody)
		return nil, false
	}
	msg, err := umf.Unmarshal(body)
	if err != nil {
		r.fail(w, http.StatusBadRequest, err)
		return nil, false
	}
	if msg.MID == "" {
		msg.MID = umf.NewMID()
	}
	if msg.Timestamp == "" {
		msg.Timestamp = umf.FormatTime(r.state.Now())
	}
	if msg.Version == "" {
		msg.Version = umf.Version
	}
	return msg, true
}

// apiMessage makes the HTTP call the message's fwd address names (svc:[method]/path) with its bdy,
// and answers the service's status with its result.
func (r *Router) apiMessage(ctx context.Context, w http.ResponseWriter, req *http.Request) {
	msg, ok := r.readUMF(w, req)
	if !ok {
		return
	}
	addr, err := umf.ParseAddress(msg.Forward)
	if err != nil || addr.Method == "" || addr.Service == "" {
		r.fail(w, http.StatusBadRequest, fmt.Errorf("router: fwd must be an address svc:[method]/path, not %q", msg.Forward))
		return
	}
	body := msg.Body
	if len(body) == 0 {
		body = json.RawMessage("{}")
	}
	route := addr.Route
	if route == "" {
		route = "/"
	}
	resp, err := r.CallHTTP(ctx, addr.Service, addr.Method, route,
		http.Header{"Content-Type": {"application/json"}}, body)
	if err != nil {
		r.fail(w, http.StatusServiceUnavailable, err)
		return
	}
	var reply struct {
		Result json.RawMessage `json:"result"`
	}
	var result any
	if json.Unmarshal(resp.Body, &reply) == nil && len(reply.Result) > 0 {
		result = reply.Result
	}
	if err := envelope.Write(w, resp.Status, result); err != nil {
		r.fail(w, http.StatusInternalServerError, err)
	}
}

// apiSend publishes the message to its service (one live instance) or instance, fire and forget.
func (r *Router) apiSend(ctx context.Context, w http.ResponseWriter, req *http.Request) {
	msg, ok := r.readUMF(w, req)
	if !ok {
		return
	}
	addr, err := umf.ParseAddress(msg.To)
	if err != nil || addr.Service == "" {
		r.fail(w, http.StatusBadRequest, fmt.Errorf("router: bad to %q", msg.To))
		return
	}
	r.httpStats.add(addr.Service, r.state.Now())
	if err := r.conn.Send(ctx, msg); err != nil {
		code := http.StatusInternalServerError
		switch {
		case errors.Is(err, redispubsub.ErrNoInstances), errors.Is(err, redispubsub.ErrNoResponders):
			//lint:ignore ST1005 hydra-router's reason text, which its clients read
			code, err = http.StatusServiceUnavailable, fmt.Errorf("Unavailable %s instances", addr.Service)
		case errors.Is(err, redispubsub.ErrBadAddress), errors.Is(err, umf.ErrMalformed):
			code = http.StatusBadRequest
		}
		r.fail(w, code, err)
		return
	}
	r.ok(w, map[string]string{"mid": msg.MID})
}

// apiQueue queues the message for its service, as hydra's queueMessage does.
func (r *Router) apiQueue(ctx context.Context, w http.ResponseWriter, req *http.Request) {
	msg, ok := r.readUMF(w, req)
	if !ok {
		return
	}
	if addr, err := umf.ParseAddress(msg.To); err == nil {
		r.httpStats.add(addr.Service, r.state.Now())
	}
	if err := r.producer.Enqueue(ctx, msg); err != nil {
		r.fail(w, http.StatusBadRequest, err)
		return
	}
	r.ok(w, map[string]string{"mid": msg.MID})
}

// apiStream appends the message, short form, to the stream hydra:stream:<name>, trimmed to about
// StreamMaxLen entries.
func (r *Router) apiStream(ctx context.Context, w http.ResponseWriter, req *http.Request, name string) {
	msg, ok := r.readUMF(w, req)
	if !ok {
		return
	}
	short, err := msg.Marshal()
	if err != nil {
		r.fail(w, http.StatusBadRequest, err)
		return
	}
	id, err := r.state.Redis.XAdd(ctx, &goredis.XAddArgs{
		Stream: "hydra:stream:" + name, MaxLen: StreamMaxLen, Approx: true,
		Values: []any{"message", short},
	}).Result()
	if err != nil {
		r.fail(w, http.StatusInternalServerError, fmt.Errorf("router: stream: %w", err))
		return
	}
	r.ok(w, map[string]string{"id": id})
}

// validStream reports whether name fits route-parser's :name (one non-empty segment), at most 200
// bytes.
func validStream(name string) bool {
	return name != "" && len(name) <= 200 && !strings.Contains(name, "/")
}
