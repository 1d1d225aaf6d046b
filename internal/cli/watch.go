package cli

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"time"

	"github.com/go-kit/kit/sd"
	"github.com/go-kit/log"
	"github.com/spf13/cobra"

	"github.com/hydrakit/hydrakit"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
)

// MaxWatched bounds the services watch follows (one sd/redis Instancer each).
const MaxWatched = 256

// watchEvent is one line of watch's output (logfmt, or JSON lines with --json).
type watchEvent struct {
	TS        string `json:"ts"`
	Service   string `json:"service"`
	Event     string `json:"event"` // join, leave or error
	Instance  string `json:"instance,omitempty"`
	Instances int    `json:"instances"` // how many are live after the event
	Err       string `json:"err,omitempty"`
}

type tagged struct {
	service string
	event   sd.Event
}

func (a *app) watchCmd() *cobra.Command {
	var (
		rescan time.Duration
		limit  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "watch [service...]",
		Short: "Print instances joining and leaving, live, from sd/redis Instancers (go-kit sd.Events)",
		Long: `watch follows the named services (default: every service in the nodes hash, re-read every --rescan for
new ones, at most 256) with one sd/redis Instancer each and prints a line per instance that joins or leaves;
the first lines are the instances live when it starts. It runs until interrupted, or for --for.`,
		RunE: func(cmd *cobra.Command, argv []string) error {
			names := make([]string, 0, len(argv))
			for _, n := range argv {
				svc, err := serviceArg([]string{n})
				if err != nil {
					return err
				}
				names = append(names, svc)
			}
			ctx := cmd.Context()
			if limit > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, limit)
				defer cancel()
			}
			c, err := a.fleet(ctx)
			if err != nil {
				return err
			}
			w := &watcher{
				app: a, client: c, logger: log.NewNopLogger(), done: make(chan struct{}), events: make(chan tagged, 64),
				instancers: map[string]*sdredis.Instancer{}, channels: map[string]chan sd.Event{}, live: map[string][]string{},
			}
			defer w.stop()
			if err := w.follow(ctx, names); err != nil {
				return err
			}
			var tick <-chan time.Time
			if len(names) == 0 {
				t := time.NewTicker(rescan)
				defer t.Stop()
				tick = t.C
			}
			for {
				select {
				case <-ctx.Done():
					return nil
				case <-tick:
					if err := w.follow(ctx, nil); err != nil {
						w.print(watchEvent{Service: "*", Event: "error", Err: err.Error()})
					}
				case e := <-w.events:
					w.handle(e)
				}
			}
		},
	}
	cmd.Flags().DurationVar(&rescan, "rescan", 3*time.Second, "how often the nodes hash is re-read for new services (without arguments)")
	cmd.Flags().DurationVar(&limit, "for", 0, "stop after this long (default: until interrupted)")
	return cmd
}

type watcher struct {
	app        *app
	client     *hydrakit.Client
	events     chan tagged
	instancers map[string]*sdredis.Instancer
	channels   map[string]chan sd.Event
	live       map[string][]string
	wg         sync.WaitGroup
	done       chan struct{}
	logger     log.Logger
}

// follow starts an Instancer for each of names (every service of the nodes hash when nil) not yet
// followed.
func (w *watcher) follow(ctx context.Context, names []string) error {
	if names == nil {
		rctx, cancel := w.app.ctx(ctx)
		defer cancel()
		f, err := w.app.reader(rctx)
		if err != nil {
			return err
		}
		entries, err := f.entries(rctx, "", false)
		if err != nil {
			return err
		}
		names = services(entries)
	}
	for _, n := range names {
		if _, ok := w.instancers[n]; ok || len(w.instancers) >= MaxWatched {
			continue
		}
		in, err := sdredis.NewInstancer(w.client, n, w.logger, sdredis.InstancerInstanceID())
		if err != nil {
			return err
		}
		ch := make(chan sd.Event, 16)
		w.instancers[n], w.channels[n] = in, ch
		w.wg.Add(1)
		go func() { // forwards one service's events, tagged; stopped by stop
			defer w.wg.Done()
			for {
				select {
				case <-w.done:
					return
				case e := <-ch:
					select {
					case w.events <- tagged{n, e}:
					case <-w.done:
						return
					}
				}
			}
		}()
		in.Register(ch)
	}
	return nil
}

func (w *watcher) handle(t tagged) {
	if t.event.Err != nil {
		w.print(watchEvent{Service: t.service, Event: "error", Err: t.event.Err.Error(), Instances: len(w.live[t.service])})
		return
	}
	was, now := w.live[t.service], slices.Sorted(slices.Values(t.event.Instances))
	w.live[t.service] = now
	for _, id := range now {
		if !slices.Contains(was, id) {
			w.print(watchEvent{Service: t.service, Event: "join", Instance: id, Instances: len(now)})
		}
	}
	for _, id := range was {
		if !slices.Contains(now, id) {
			w.print(watchEvent{Service: t.service, Event: "leave", Instance: id, Instances: len(now)})
		}
	}
}

func (w *watcher) print(e watchEvent) {
	e.TS = w.app.env.Now().UTC().Format(time.RFC3339Nano)
	if w.app.json {
		b, _ := json.Marshal(e)
		_, _ = w.app.out.Write(append(b, '\n'))
		return
	}
	kv := []any{"ts", e.TS, "service", e.Service, "event", e.Event}
	if e.Instance != "" {
		kv = append(kv, "instance", e.Instance)
	}
	kv = append(kv, "instances", e.Instances)
	if e.Err != "" {
		kv = append(kv, "err", e.Err)
	}
	_ = log.NewLogfmtLogger(w.app.out).Log(kv...)
}

// stop ends every Instancer and forwarding goroutine, and waits for them.
func (w *watcher) stop() {
	for n, in := range w.instancers {
		in.Deregister(w.channels[n])
		in.Stop()
	}
	close(w.done)
	w.wg.Wait()
}
