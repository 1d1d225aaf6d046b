package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/hydrakit/hydrakit/keyspace"
)

// entry is one nodes-hash entry as the CLI prints it (stable JSON field names, documented in
// docs/cli.md): Node Hydra's fields, plus elapsed and present.
type entry struct {
	InstanceID         string `json:"instanceID"`
	ServiceName        string `json:"serviceName"`
	ServiceDescription string `json:"serviceDescription"`
	Version            string `json:"version"`
	IP                 string `json:"ip"`
	Port               int    `json:"port"`
	HostName           string `json:"hostName"`
	ProcessID          int    `json:"processID"`
	UpdatedOn          string `json:"updatedOn"`
	Elapsed            *int64 `json:"elapsed"` // whole seconds since updatedOn, as hydra-cli; null when unreadable
	Present            bool   `json:"present"` // the presence key exists: the instance is live
}

// parseEntry reads a nodes-hash value; port may be a number or a string, as Node writes either.
func parseEntry(id, raw string, now time.Time) (entry, error) {
	var e struct {
		entry
		Port any `json:"port"`
	}
	if err := json.Unmarshal([]byte(raw), &e); err != nil {
		return entry{}, err
	}
	out := e.entry
	switch p := e.Port.(type) {
	case float64:
		out.Port = int(p)
	case string:
		out.Port, _ = strconv.Atoi(p)
	}
	if out.InstanceID != id || out.ServiceName == "" {
		return entry{}, fmt.Errorf("entry %s names instance %q of service %q", id, out.InstanceID, out.ServiceName)
	}
	if t, err := time.Parse(time.RFC3339Nano, out.UpdatedOn); err == nil {
		s := int64(now.Sub(t) / time.Second)
		out.Elapsed = &s
	}
	return out, nil
}

// fleetReader reads the fleet by name, through the nodes hash: never by a keyspace SCAN.
type fleetReader struct {
	rdb  goredis.UniversalClient
	keys keyspace.Scheme
	now  time.Time
	warn func(format string, args ...any)
}

func (a *app) reader(ctx context.Context) (*fleetReader, error) {
	c, err := a.fleet(ctx)
	if err != nil {
		return nil, err
	}
	return &fleetReader{
		rdb: c.Redis(), keys: c.Keyspace(), now: a.env.Now(),
		warn: func(format string, args ...any) { fmt.Fprintf(a.errOut, "hydrakit: "+format+"\n", args...) },
	}, nil
}

// entries returns the nodes entries of service (every service when ""), sorted by service and
// instance ID, with presence checked when withPresence: one HGETALL, and one pipelined EXISTS per entry.
func (f *fleetReader) entries(ctx context.Context, service string, withPresence bool) ([]entry, error) {
	all, err := f.rdb.HGetAll(ctx, f.keys.Nodes()).Result()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", f.keys.Nodes(), err)
	}
	out := make([]entry, 0, len(all))
	bad := 0
	for id, raw := range all {
		e, err := parseEntry(id, raw, f.now)
		if err != nil {
			bad++
			continue
		}
		if service == "" || e.ServiceName == service {
			out = append(out, e)
		}
	}
	if bad > 0 {
		f.warn("skipped %d malformed entries of %s", bad, f.keys.Nodes())
	}
	slices.SortFunc(out, func(a, b entry) int {
		return cmp.Or(strings.Compare(a.ServiceName, b.ServiceName), strings.Compare(a.InstanceID, b.InstanceID))
	})
	if !withPresence || len(out) == 0 {
		return out, nil
	}
	pipe := f.rdb.Pipeline()
	exists := make([]*goredis.IntCmd, len(out))
	for i, e := range out {
		exists[i] = pipe.Exists(ctx, f.keys.Presence(e.ServiceName, e.InstanceID))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("check presence: %w", err)
	}
	for i := range out {
		out[i].Present = exists[i].Val() == 1
	}
	return out, nil
}

// services returns the distinct service names of entries, sorted.
func services(entries []entry) []string {
	var names []string
	for _, e := range entries {
		if len(names) == 0 || names[len(names)-1] != e.ServiceName {
			names = append(names, e.ServiceName)
		}
	}
	return names
}

// scanServices walks the keyspace for service records (hydra-cli's way; --scan only), on every master
// of a cluster, and returns the service names found.
func (f *fleetReader) scanServices(ctx context.Context) ([]string, error) {
	prefix, suffix, _ := strings.Cut(f.keys.Service("\x00"), "\x00")
	pattern := escapeGlob(prefix) + "*" + escapeGlob(suffix)
	var (
		mu    sync.Mutex // ForEachMaster scans the masters concurrently
		names []string
	)
	scan := func(ctx context.Context, c goredis.UniversalClient) error {
		iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
		for iter.Next(ctx) {
			name := strings.TrimSuffix(strings.TrimPrefix(iter.Val(), prefix), suffix)
			if _, err := keyspace.ValidateService(name); err == nil {
				mu.Lock()
				names = append(names, name)
				mu.Unlock()
			}
		}
		return iter.Err()
	}
	var err error
	if cc, ok := f.rdb.(*goredis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *goredis.Client) error { return scan(ctx, c) })
	} else {
		err = scan(ctx, f.rdb)
	}
	if err != nil {
		return nil, fmt.Errorf("scan service records: %w", err)
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

func escapeGlob(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`)
	return r.Replace(s)
}

// serviceArg validates an optional service argument ("" when absent).
func serviceArg(args []string) (string, error) {
	if len(args) == 0 {
		return "", nil
	}
	name, err := keyspace.ValidateService(args[0])
	if err != nil {
		return "", usagef("%v", err)
	}
	return name, nil
}

// onFleet is the RunE of a command that reads the fleet: it takes the optional service argument,
// bounds the work by --timeout and hands run a reader.
func (a *app) onFleet(run func(ctx context.Context, f *fleetReader, svc string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, argv []string) error {
		svc, err := serviceArg(argv)
		if err != nil {
			return err
		}
		ctx, cancel := a.ctx(cmd.Context())
		defer cancel()
		f, err := a.reader(ctx)
		if err != nil {
			return err
		}
		return run(ctx, f, svc)
	}
}
