package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"text/tabwriter"

	goredis "github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
)

func (a *app) nodesCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "nodes [service]",
		Short: "List the instances in the nodes hash, with elapsed seconds and a mark where presence is lost",
		Args:  args(cobra.MaximumNArgs(1)),
		RunE: a.onFleet(func(ctx context.Context, f *fleetReader, svc string) error {
			entries, err := f.entries(ctx, svc, true)
			if err != nil {
				return err
			}
			if svc != "" && len(entries) == 0 {
				return notFoundf("no nodes entries of service %s", svc)
			}
			return a.emit(entries, func(t *tabwriter.Writer) {
				row(t, "SERVICE", "INSTANCE", "VERSION", "ADDRESS", "HOST", "PID", "ELAPSED", "PRESENCE")
				for _, e := range entries {
					elapsed, presence := "?", "live"
					if e.Elapsed != nil {
						elapsed = fmt.Sprintf("%ds", *e.Elapsed)
					}
					if !e.Present {
						presence = "LOST"
					}
					row(t, e.ServiceName, e.InstanceID, e.Version, fmt.Sprintf("%s:%d", e.IP, e.Port), e.HostName, e.ProcessID, elapsed, presence)
				}
			})
		}),
	}
}

// service is one service as services prints it: hydra-cli's {serviceName, type, registeredOn} and
// the counts of its nodes entries and live instances.
type service struct {
	ServiceName  string `json:"serviceName"`
	Type         string `json:"type"`
	RegisteredOn string `json:"registeredOn"`
	Instances    int    `json:"instances"` // live (presence key exists)
	Nodes        int    `json:"nodes"`     // entries in the nodes hash, live or not
}

func (a *app) servicesCmd() *cobra.Command {
	var scan bool
	cmd := &cobra.Command{
		Use:   "services [service]",
		Short: "List services: their records, and how many instances are live",
		Args:  args(cobra.MaximumNArgs(1)),
		RunE: a.onFleet(func(ctx context.Context, f *fleetReader, svc string) error {
			entries, err := f.entries(ctx, svc, true)
			if err != nil {
				return err
			}
			names, err := f.names(ctx, svc, entries, scan)
			if err != nil {
				return err
			}
			pipe := f.rdb.Pipeline()
			records := make([]*goredis.StringCmd, len(names))
			for i, n := range names {
				records[i] = pipe.Get(ctx, f.keys.Service(n))
			}
			if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, goredis.Nil) {
				return fmt.Errorf("read service records: %w", err)
			}
			out := make([]service, 0, len(names))
			for i, n := range names {
				s := service{ServiceName: n}
				if raw, err := records[i].Result(); err == nil {
					var rec struct {
						Type         string `json:"type"`
						RegisteredOn string `json:"registeredOn"`
					}
					if json.Unmarshal([]byte(raw), &rec) != nil {
						f.warn("service record of %s is no JSON object", n)
					}
					s.Type, s.RegisteredOn = rec.Type, rec.RegisteredOn
				} else if svc != "" && !hasService(entries, n) {
					return notFoundf("no service %s", svc)
				}
				for _, e := range entries {
					if e.ServiceName == n {
						s.Nodes++
						if e.Present {
							s.Instances++
						}
					}
				}
				out = append(out, s)
			}
			return a.emit(out, func(t *tabwriter.Writer) {
				row(t, "SERVICE", "TYPE", "REGISTERED", "LIVE", "NODES")
				for _, s := range out {
					row(t, s.ServiceName, s.Type, s.RegisteredOn, s.Instances, s.Nodes)
				}
			})
		}),
	}
	cmd.Flags().BoolVar(&scan, "scan", false, "also SCAN the keyspace for service records no nodes entry names (hydra-cli's way: a whole-keyspace walk)")
	return cmd
}

func hasService(entries []entry, name string) bool {
	return slices.ContainsFunc(entries, func(e entry) bool { return e.ServiceName == name })
}

// names is the service named (svc), or those the nodes entries name, plus with scan those the
// keyspace holds records of.
func (f *fleetReader) names(ctx context.Context, svc string, entries []entry, scan bool) ([]string, error) {
	if svc != "" {
		return []string{svc}, nil
	}
	names := services(entries)
	if scan {
		more, err := f.scanServices(ctx)
		if err != nil {
			return nil, err
		}
		names = append(names, more...)
		slices.Sort(names)
		names = slices.Compact(names)
	}
	return names, nil
}

// routes is one service's routes set.
type routes struct {
	ServiceName string   `json:"serviceName"`
	Routes      []string `json:"routes"` // sorted
}

func (a *app) routesCmd() *cobra.Command {
	var scan bool
	cmd := &cobra.Command{
		Use:   "routes [service]",
		Short: "List the HTTP routes services registered",
		Args:  args(cobra.MaximumNArgs(1)),
		RunE: a.onFleet(func(ctx context.Context, f *fleetReader, svc string) error {
			var entries []entry
			if svc == "" {
				var err error
				if entries, err = f.entries(ctx, "", false); err != nil {
					return err
				}
			}
			names, err := f.names(ctx, svc, entries, scan)
			if err != nil {
				return err
			}
			pipe := f.rdb.Pipeline()
			sets := make([]*goredis.StringSliceCmd, len(names))
			for i, n := range names {
				sets[i] = pipe.SMembers(ctx, f.keys.Routes(n))
			}
			if _, err := pipe.Exec(ctx); err != nil {
				return fmt.Errorf("read routes: %w", err)
			}
			out := make([]routes, 0, len(names))
			for i, n := range names {
				r := sets[i].Val()
				if len(r) == 0 {
					continue
				}
				slices.Sort(r)
				out = append(out, routes{ServiceName: n, Routes: r})
			}
			if svc != "" && len(out) == 0 {
				return notFoundf("no routes of service %s", svc)
			}
			return a.emit(out, func(t *tabwriter.Writer) {
				row(t, "SERVICE", "ROUTE")
				for _, s := range out {
					for _, r := range s.Routes {
						row(t, s.ServiceName, r)
					}
				}
			})
		}),
	}
	cmd.Flags().BoolVar(&scan, "scan", false, "also SCAN the keyspace for services no nodes entry names (a whole-keyspace walk)")
	return cmd
}
