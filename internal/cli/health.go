package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"text/tabwriter"

	goredis "github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
)

// instanceHealth is one instance's health key, as health prints it.
type instanceHealth struct {
	ServiceName string          `json:"serviceName"`
	InstanceID  string          `json:"instanceID"`
	Present     bool            `json:"present"`
	Health      json.RawMessage `json:"health"` // the snapshot as the instance wrote it; null when expired
}

func (a *app) healthCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "health [service]",
		Short: "Show every live instance's health snapshot (Node's fields; Go adds status and checks)",
		Args:  args(cobra.MaximumNArgs(1)),
		RunE: a.onFleet(func(ctx context.Context, f *fleetReader, svc string) error {
			entries, err := f.entries(ctx, svc, true)
			if err != nil {
				return err
			}
			pipe := f.rdb.Pipeline()
			gets := make([]*goredis.StringCmd, len(entries))
			for i, e := range entries {
				gets[i] = pipe.Get(ctx, f.keys.Health(e.ServiceName, e.InstanceID))
			}
			if len(entries) > 0 {
				if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, goredis.Nil) {
					return fmt.Errorf("read health: %w", err)
				}
			}
			out := []instanceHealth{}
			for i, e := range entries {
				raw, err := gets[i].Result()
				if err != nil && !e.Present {
					continue // long gone: the nodes hash keeps dead entries for ever
				}
				h := instanceHealth{ServiceName: e.ServiceName, InstanceID: e.InstanceID, Present: e.Present}
				if err == nil && json.Valid([]byte(raw)) {
					h.Health = json.RawMessage(raw)
				}
				out = append(out, h)
			}
			if svc != "" && len(out) == 0 {
				return notFoundf("no live instance of service %s", svc)
			}
			return a.emit(out, func(t *tabwriter.Writer) {
				row(t, "SERVICE", "INSTANCE", "PRESENCE", "STATUS", "UPDATED", "UPTIME", "RSS", "HOST", "PID")
				for _, h := range out {
					var s struct {
						UpdatedOn string  `json:"updatedOn"`
						Status    string  `json:"status"`
						Uptime    float64 `json:"uptimeSeconds"`
						HostName  string  `json:"hostName"`
						ProcessID int     `json:"processID"`
						Memory    struct {
							RSS uint64 `json:"rss"`
						} `json:"memory"`
					}
					presence := "live"
					if !h.Present {
						presence = "LOST"
					}
					if h.Health == nil {
						row(t, h.ServiceName, h.InstanceID, presence, "no health", "", "", "", "", "")
						continue
					}
					_ = json.Unmarshal(h.Health, &s)
					row(t, h.ServiceName, h.InstanceID, presence, s.Status, s.UpdatedOn, fmt.Sprintf("%.0fs", s.Uptime),
						fmt.Sprintf("%.1fMB", float64(s.Memory.RSS)/(1<<20)), s.HostName, s.ProcessID)
				}
			})
		}),
	}
}

// healthLog is one instance's flight recorder, newest first.
type healthLog struct {
	ServiceName string            `json:"serviceName"`
	InstanceID  string            `json:"instanceID"`
	Present     bool              `json:"present"`
	Entries     []json.RawMessage `json:"entries"` // {ts, serviceName, type, processID, msg}, as written
}

// logLines is how many entries of each instance's log are read: all Node keeps (LTRIM 0 63).
const logLines = 64

func (a *app) healthlogCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "healthlog <service>",
		Short: "Show every instance's flight-recorder log of a service (hydra-cli shows only the first)",
		Args:  args(cobra.ExactArgs(1)),
		RunE: a.onFleet(func(ctx context.Context, f *fleetReader, svc string) error {
			entries, err := f.entries(ctx, svc, true)
			if err != nil {
				return err
			}
			if len(entries) == 0 {
				return notFoundf("no nodes entries of service %s", svc)
			}
			pipe := f.rdb.Pipeline()
			lists := make([]*goredis.StringSliceCmd, len(entries))
			for i, e := range entries {
				lists[i] = pipe.LRange(ctx, f.keys.HealthLog(e.ServiceName, e.InstanceID), 0, logLines-1)
			}
			if _, err := pipe.Exec(ctx); err != nil {
				return fmt.Errorf("read health logs: %w", err)
			}
			out := []healthLog{}
			type line struct{ ts, instance, typ, msg string }
			var lines []line
			for i, e := range entries {
				l := healthLog{ServiceName: e.ServiceName, InstanceID: e.InstanceID, Present: e.Present, Entries: []json.RawMessage{}}
				for _, raw := range lists[i].Val() {
					if !json.Valid([]byte(raw)) {
						continue
					}
					l.Entries = append(l.Entries, json.RawMessage(raw))
					var le struct {
						TS   string `json:"ts"`
						Type string `json:"type"`
						Msg  any    `json:"msg"`
					}
					_ = json.Unmarshal([]byte(raw), &le)
					msg, ok := le.Msg.(string)
					if !ok {
						b, _ := json.Marshal(le.Msg)
						msg = string(b)
					}
					lines = append(lines, line{le.TS, e.InstanceID, le.Type, msg})
				}
				if len(l.Entries) > 0 {
					out = append(out, l)
				}
			}
			return a.emit(out, func(t *tabwriter.Writer) {
				slices.SortStableFunc(lines, func(x, y line) int { return cmp.Compare(y.ts, x.ts) })
				row(t, "TS", "INSTANCE", "TYPE", "MSG")
				for _, l := range lines {
					row(t, l.ts, l.instance, l.typ, l.msg)
				}
			})
		}),
	}
}
