package cli

import (
	"context"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/hydrakit/hydrakit"
)

// app is one command line's state: its flags, and the Redis connection it opens on first use.
type app struct {
	env         Env
	out, errOut io.Writer

	target  target // --redis, --redis-ca, ... and --profile
	json    bool
	timeout time.Duration

	conn *conn // nil until a command needs Redis
}

func (a *app) root() *cobra.Command {
	root := &cobra.Command{
		Use:   "hydrakit",
		Short: "See and operate a Hydra fleet of Go (hydrakit) and Node (Hydra 1.9.3) services on Redis",
		Long: `hydrakit sees and operates a fleet of Go (hydrakit) and Node Hydra services on Redis: hydra-cli's
commands with the same names and Redis effects, plus queues, request/reply, watch and the janitor.

Redis is --redis, else $HYDRAKIT_REDIS_URL, else the profile named by --profile or $HYDRAKIT_PROFILE,
else the active profile, else redis://127.0.0.1:6379/0. Passwords come from $HYDRAKIT_REDIS_PASSWORD or
--redis-password-file (or the env variable or file a profile names), never from the command line.

Exit codes: 0 ok, 1 failed, 2 usage, 3 not found or unreachable.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args: func(c *cobra.Command, a []string) error {
			if len(a) > 0 {
				return usagef("unknown command %q", a[0])
			}
			return nil
		},
		RunE: func(c *cobra.Command, _ []string) error { return c.Help() },
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &exitError{ExitUsage, err} })
	f := root.PersistentFlags()
	f.StringVar(&a.target.url, "redis", "", "Redis URL: redis://, rediss://, redis+sentinel://h:p,…/master, redis+cluster://h:p,… (default $HYDRAKIT_REDIS_URL)")
	f.StringVar(&a.target.ca, "redis-ca", "", "PEM file of the CA that signed the Redis server's certificate (rediss://)")
	f.StringVar(&a.target.cert, "redis-cert", "", "PEM client certificate, for mutual TLS")
	f.StringVar(&a.target.key, "redis-key", "", "PEM key of --redis-cert")
	f.StringVar(&a.target.passwordFile, "redis-password-file", "", "file holding the Redis password (default $HYDRAKIT_REDIS_PASSWORD)")
	f.StringVar(&a.target.profile, "profile", "", "named connection profile (default $HYDRAKIT_PROFILE, else the active one)")
	f.BoolVar(&a.json, "json", false, "print JSON (stable field names, see docs/cli.md) instead of a table")
	f.DurationVar(&a.timeout, "timeout", 5*time.Second, "how long to wait for Redis and for replies")

	root.AddCommand(
		a.nodesCmd(), a.servicesCmd(), a.routesCmd(), a.healthCmd(), a.healthlogCmd(),
		a.cfgCmd(), a.messageCmd(), a.restCmd(), a.refreshCmd(), a.redisCmd(), a.shellCmd(),
		a.queueCmd(), a.callCmd(), a.watchCmd(), a.janitorCmd(),
		a.profileCmd(), a.useCmd(), a.configCmd(),
	)
	return root
}

// fleet connects on first use and returns the hydrakit client.
func (a *app) fleet(ctx context.Context) (*hydrakit.Client, error) {
	if a.conn == nil {
		c, err := a.connect(ctx)
		if err != nil {
			return nil, err
		}
		a.conn = c
	}
	return a.conn.client, nil
}

func (a *app) close() {
	if a.conn != nil {
		a.conn.close()
	}
}

// ctx bounds one Redis exchange by --timeout.
func (a *app) ctx(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, a.timeout)
}
