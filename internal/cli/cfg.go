package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/hydrakit/hydrakit/config"
)

func (a *app) cfgCmd() *cobra.Command {
	return group(&cobra.Command{Use: "cfg", Short: "Versioned configuration documents (the configs hash), as hydra-cli's cfg"},
		a.cfgPushCmd(), a.cfgPullCmd(), a.cfgListCmd(), a.cfgRemoveCmd())
}

func (a *app) store(cmd *cobra.Command) (*config.Store, error) {
	c, err := a.fleet(cmd.Context())
	if err != nil {
		return nil, err
	}
	return config.NewStore(c)
}

func label(arg string) (string, string, error) {
	svc, ver, err := config.ParseLabel(arg)
	if err != nil {
		return "", "", usagef("%v (want service:version)", err)
	}
	return svc, ver, nil
}

// readInput reads a file, or standard input for "-".
func (a *app) readInput(path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(a.env.Stdin)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, notFound(err)
	}
	return b, nil
}

func (a *app) cfgPushCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "push <service:version> <file|->",
		Short: "Store a JSON document as a version of a service's configuration (HSET)",
		Args:  args(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			svc, ver, err := label(argv[0])
			if err != nil {
				return err
			}
			doc, err := a.readInput(argv[1])
			if err != nil {
				return err
			}
			// Node's getConfig hands services whatever JSON.parse makes of it: only an object is a config.
			if d := bytes.TrimSpace(doc); len(d) == 0 || d[0] != '{' || !json.Valid(d) {
				return fmt.Errorf("%s: %w: want a JSON object", argv[1], config.ErrInvalidDocument)
			}
			s, err := a.store(cmd)
			if err != nil {
				return err
			}
			ctx, cancel := a.ctx(cmd.Context())
			defer cancel()
			// HSET of the compact JSON, in the bytes Node's putConfig (hydra-cli's cfg push) writes.
			if err := s.Put(ctx, svc, ver, json.RawMessage(doc)); err != nil {
				return err
			}
			return a.done(map[string]string{"pushed": config.Label(svc, ver)})
		},
	}
}

func (a *app) cfgPullCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "pull <service:version>",
		Short: "Print a stored configuration document (redirect it to a file)",
		Args:  args(cobra.ExactArgs(1)),
		RunE: a.onConfig(func(ctx context.Context, s *config.Store, svc, ver string, argv []string) error {
			doc, err := s.Get(ctx, svc, ver)
			if errors.Is(err, config.ErrNotFound) {
				return notFound(err)
			}
			if err != nil {
				return err
			}
			var out bytes.Buffer
			if err := json.Indent(&out, doc, "", "  "); err != nil {
				return fmt.Errorf("%s: stored document: %w", argv[0], err)
			}
			out.WriteByte('\n')
			_, err = a.out.Write(out.Bytes())
			return err
		}),
	}
}

func (a *app) cfgListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list <service>",
		Short: "List the stored versions of a service's configuration, in version order",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			svc, err := serviceArg(argv)
			if err != nil {
				return err
			}
			s, err := a.store(cmd)
			if err != nil {
				return err
			}
			ctx, cancel := a.ctx(cmd.Context())
			defer cancel()
			versions, err := s.List(ctx, svc)
			if err != nil {
				return err
			}
			if len(versions) == 0 {
				return notFoundf("no configuration of service %s", svc)
			}
			labels := make([]string, len(versions))
			for i, v := range versions {
				labels[i] = config.Label(svc, v)
			}
			return a.emit(labels, func(t *tabwriter.Writer) {
				for _, l := range labels {
					row(t, l)
				}
			})
		},
	}
}

func (a *app) cfgRemoveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "remove <service:version>",
		Short: "Delete a stored configuration version (HDEL)",
		Args:  args(cobra.ExactArgs(1)),
		RunE: a.onConfig(func(ctx context.Context, s *config.Store, svc, ver string, argv []string) error {
			if err := s.Remove(ctx, svc, ver); err != nil {
				if errors.Is(err, config.ErrNotFound) {
					return notFound(err)
				}
				return err
			}
			return a.done(map[string]string{"removed": config.Label(svc, ver)})
		}),
	}
}

// done reports what a write command did: its fields as JSON with --json, else "key value" lines.
func (a *app) done(what map[string]string) error {
	if a.json {
		return writeJSON(a.out, what)
	}
	for k, v := range what {
		fmt.Fprintln(a.out, k, v)
	}
	return nil
}

// onConfig is the RunE of a command on one stored version: it takes the <service:version> argument
// (the rest stay in argv), opens the store and bounds the work by --timeout.
func (a *app) onConfig(run func(ctx context.Context, s *config.Store, svc, ver string, argv []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, argv []string) error {
		svc, ver, err := label(argv[0])
		if err != nil {
			return err
		}
		s, err := a.store(cmd)
		if err != nil {
			return err
		}
		ctx, cancel := a.ctx(cmd.Context())
		defer cancel()
		return run(ctx, s, svc, ver, argv)
	}
}
