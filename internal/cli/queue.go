package cli

import (
	"context"
	"encoding/json"
	"errors"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/hydrakit/hydrakit/queue"
)

func (a *app) queueCmd() *cobra.Command {
	return group(&cobra.Command{Use: "queue", Short: "A service's work queue: stats, peek, dead letters, requeue, purge"},
		a.queueStatsCmd(), a.queuePeekCmd(), a.queueDeadCmd(), a.queueRequeueCmd(), a.queuePurgeCmd())
}

func (a *app) inspector(cmd *cobra.Command) (*queue.Inspector, error) {
	c, err := a.fleet(cmd.Context())
	if err != nil {
		return nil, err
	}
	return queue.NewInspector(c)
}

// queueStats is queue stats's output; ages are in milliseconds.
type queueStats struct {
	Service            string `json:"service"`
	Received           int64  `json:"received"`
	InProgress         int64  `json:"inProgress"`
	Leased             int64  `json:"leased"`
	Incomplete         int64  `json:"incomplete"`
	Delayed            int64  `json:"delayed"`
	OldestReceivedMs   int64  `json:"oldestReceivedMs"`
	OldestInProgressMs int64  `json:"oldestInProgressMs"`
}

func (a *app) queueStatsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "stats <service>",
		Short: "Queue lengths (received, in progress, leased, dead, delayed) and ages",
		Args:  args(cobra.ExactArgs(1)),
		RunE: a.onQueue(func(ctx context.Context, in *queue.Inspector, svc string) error {
			s, err := in.Stats(ctx, svc)
			if err != nil {
				return err
			}
			out := queueStats{svc, s.Received, s.InProgress, s.Leased, s.Incomplete, s.Delayed,
				s.OldestReceived.Milliseconds(), s.OldestInProgress.Milliseconds()}
			return a.emit(out, func(t *tabwriter.Writer) {
				row(t, "SERVICE", "RECEIVED", "IN-PROGRESS", "LEASED", "DEAD", "DELAYED", "OLDEST-RECEIVED", "OLDEST-IN-PROGRESS")
				row(t, svc, s.Received, s.InProgress, s.Leased, s.Incomplete, s.Delayed, s.OldestReceived, s.OldestInProgress)
			})
		}),
	}
}

// queueItem is one message of a queue list as peek and dead print it.
type queueItem struct {
	Position int             `json:"position"` // from the next in line (received), the longest-held (inprogress) or the oldest (incomplete)
	MID      string          `json:"mid"`
	TS       string          `json:"ts"`
	From     string          `json:"frm"`
	Reason   string          `json:"reason,omitempty"` // dead letters: bdy.reason
	Raw      json.RawMessage `json:"raw"`              // the exact stored message; a JSON string when it is no JSON
}

func items(list []queue.Item, start int64) []queueItem {
	out := make([]queueItem, len(list))
	for i, it := range list {
		q := queueItem{Position: int(start) + i, Reason: it.Reason, Raw: it.Raw}
		if !json.Valid(it.Raw) {
			q.Raw, _ = json.Marshal(string(it.Raw))
		}
		if m := it.Message; m != nil {
			q.MID, q.TS, q.From = m.MID, m.Timestamp, m.From
		}
		out[i] = q
	}
	return out
}

func (a *app) emitItems(out []queueItem) error {
	return a.emit(out, func(t *tabwriter.Writer) {
		row(t, "POS", "MID", "TS", "FRM", "REASON")
		for _, q := range out {
			row(t, q.Position, q.MID, q.TS, q.From, q.Reason)
		}
	})
}

func (a *app) queuePeekCmd() *cobra.Command {
	var list string
	var start, count int64
	cmd := &cobra.Command{
		Use:   "peek <service>",
		Short: "List messages of the received (default), inprogress or incomplete list without taking them",
		Args:  args(cobra.ExactArgs(1)),
		RunE: a.onQueue(func(ctx context.Context, in *queue.Inspector, svc string) error {
			var got []queue.Item
			var err error
			switch list {
			case "received":
				got, err = in.Received(ctx, svc, start, count)
			case "inprogress":
				got, err = in.InProgress(ctx, svc, start, count)
			case "incomplete":
				got, err = in.Incomplete(ctx, svc, start, count)
			default:
				return usagef("--list %q: want received, inprogress or incomplete", list)
			}
			if err != nil {
				return err
			}
			return a.emitItems(items(got, start))
		}),
	}
	cmd.Flags().StringVar(&list, "list", "received", "received, inprogress or incomplete")
	cmd.Flags().Int64Var(&start, "start", 0, "position of the first message")
	cmd.Flags().Int64Var(&count, "count", 20, "how many messages")
	return cmd
}

func (a *app) queueDeadCmd() *cobra.Command {
	var start, count int64
	cmd := &cobra.Command{
		Use:   "dead <service>",
		Short: "List dead letters (the incomplete list), oldest first, with their reasons",
		Args:  args(cobra.ExactArgs(1)),
		RunE: a.onQueue(func(ctx context.Context, in *queue.Inspector, svc string) error {
			got, err := in.Incomplete(ctx, svc, start, count)
			if err != nil {
				return err
			}
			return a.emitItems(items(got, start))
		}),
	}
	cmd.Flags().Int64Var(&start, "start", 0, "position of the first dead letter")
	cmd.Flags().Int64Var(&count, "count", 20, "how many dead letters")
	return cmd
}

func (a *app) queueRequeueCmd() *cobra.Command {
	var position int64
	cmd := &cobra.Command{
		Use:   "requeue <service>",
		Short: "Move dead letters back to the received list: all of them, or the one at --position",
		Args:  args(cobra.ExactArgs(1)),
		RunE: a.onQueue(func(ctx context.Context, in *queue.Inspector, svc string) error {
			if position < 0 {
				n, err := in.RequeueAll(ctx, svc)
				if err != nil {
					return err
				}
				return a.emit(map[string]int{"requeued": n}, func(t *tabwriter.Writer) { row(t, "requeued", n) })
			}
			got, err := in.Incomplete(ctx, svc, position, 1)
			if err != nil {
				return err
			}
			if len(got) == 0 {
				return notFoundf("no dead letter at position %d", position)
			}
			if err := in.Requeue(ctx, svc, got[0].Raw); err != nil {
				if errors.Is(err, queue.ErrNotFound) {
					return notFound(err)
				}
				return err
			}
			return a.emit(map[string]int{"requeued": 1}, func(t *tabwriter.Writer) { row(t, "requeued", 1) })
		}),
	}
	cmd.Flags().Int64Var(&position, "position", -1, "requeue only the dead letter at this position (as dead lists them)")
	return cmd
}

func (a *app) queuePurgeCmd() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "purge <service>",
		Short: "Delete every dead letter of a service (needs --yes)",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			svc, err := serviceArg(argv)
			if err != nil {
				return err
			}
			if !yes {
				return usagef("purge deletes every dead letter of %s: add --yes", svc)
			}
			in, err := a.inspector(cmd)
			if err != nil {
				return err
			}
			ctx, cancel := a.ctx(cmd.Context())
			defer cancel()
			n, err := in.Purge(ctx, svc)
			if err != nil {
				return err
			}
			return a.emit(map[string]int64{"purged": n}, func(t *tabwriter.Writer) { row(t, "purged", n) })
		},
	}
	cmd.Flags().BoolVar(&yes, "yes", false, "really delete")
	return cmd
}

// onQueue is the RunE of a queue command: it takes the service argument, connects an Inspector and
// bounds the work by --timeout.
func (a *app) onQueue(run func(ctx context.Context, in *queue.Inspector, svc string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, argv []string) error {
		svc, err := serviceArg(argv)
		if err != nil {
			return err
		}
		in, err := a.inspector(cmd)
		if err != nil {
			return err
		}
		ctx, cancel := a.ctx(cmd.Context())
		defer cancel()
		return run(ctx, in, svc)
	}
}
