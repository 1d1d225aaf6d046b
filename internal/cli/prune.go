package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	sdredis "github.com/hydrakit/hydrakit/sd/redis"
)

// pruned is what refresh node list and janitor print.
type pruned struct {
	Removed   int      `json:"removed"`
	Instances []string `json:"instances"` // the instance IDs whose nodes entries were (or, with --dry-run, would be) removed
	DryRun    bool     `json:"dryRun,omitempty"`
}

// hydraCLIGrace is the age past which hydra-cli's refresh node list removes an entry.
const hydraCLIGrace = 60 * time.Second

func (a *app) refreshCmd() *cobra.Command {
	list := &cobra.Command{
		Use:   "list",
		Short: "Remove nodes entries not updated for 60 s, as hydra-cli does (presence is not consulted)",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.prune(cmd.Context(), hydraCLIGrace, false, false)
		},
	}
	node := group(&cobra.Command{Use: "node", Short: "The nodes hash"}, list)
	return group(&cobra.Command{Use: "refresh", Short: "hydra-cli's refresh node list"}, node)
}

func (a *app) janitorCmd() *cobra.Command {
	var grace time.Duration
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "janitor",
		Short: "Remove nodes entries of dead instances: no presence, and not updated for --grace",
		Long: `janitor removes the nodes-hash entries of instances that have no presence key and whose updatedOn is older
than --grace: Node Hydra never removes them, so the hash grows with every process ever started. Removing an
entry a Node peer still caches crashes that peer's HTTP calls, hence a grace of at least 10 s (default 60 s).
Unlike refresh node list it never removes a live instance's entry, whatever its clock says.`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if grace < sdredis.MinJanitorGrace {
				return usagef("--grace %s is under the minimum %s", grace, sdredis.MinJanitorGrace)
			}
			return a.prune(cmd.Context(), grace, true, dryRun)
		},
	}
	cmd.Flags().DurationVar(&grace, "grace", sdredis.DefaultJanitorGrace, "how long an instance must have been silent")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "list what would be removed, remove nothing")
	return cmd
}

// prune removes the entries older than grace (and, with needAbsent, without presence).
func (a *app) prune(parent context.Context, grace time.Duration, needAbsent, dryRun bool) error {
	ctx, cancel := a.ctx(parent)
	defer cancel()
	f, err := a.reader(ctx)
	if err != nil {
		return err
	}
	entries, err := f.entries(ctx, "", needAbsent)
	if err != nil {
		return err
	}
	out := pruned{Instances: []string{}, DryRun: dryRun}
	var gone []entry
	for _, e := range entries {
		// An unreadable updatedOn counts as old: Node computes NaN and hydra-cli keeps it for ever.
		old := e.Elapsed == nil || time.Duration(*e.Elapsed)*time.Second > grace
		if old && !(needAbsent && e.Present) {
			gone = append(gone, e)
			out.Instances = append(out.Instances, e.InstanceID)
		}
	}
	if len(gone) > 0 && !dryRun {
		ids := make([]string, len(gone))
		for i, e := range gone {
			ids[i] = e.InstanceID
		}
		n, err := f.rdb.HDel(ctx, f.keys.Nodes(), ids...).Result()
		if err != nil {
			return fmt.Errorf("remove nodes entries: %w", err)
		}
		out.Removed = int(n)
	}
	return a.emit(out, func(t *tabwriter.Writer) {
		verb := "removed"
		if dryRun {
			verb = "would remove"
		}
		for _, e := range gone {
			row(t, verb, e.ServiceName, e.InstanceID)
		}
		row(t, verb, len(gone), "nodes entries")
	})
}
