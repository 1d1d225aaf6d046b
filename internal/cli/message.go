package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/queue"
	"github.com/hydrakit/hydrakit/transport/redispubsub"
	"github.com/hydrakit/hydrakit/umf"
)

// cliService is the service name the CLI's pub/sub Conn uses. It never registers (hydra-cli's
// "hydra-cli" does not either), so it never appears in nodes.
const cliService = "hydrakit-cli"

func (a *app) messageCmd() *cobra.Command {
	return group(&cobra.Command{Use: "message", Short: "UMF messages: a template, send over pub/sub, queue for a service"},
		a.messageCreateCmd(), a.messageSendCmd(), a.messageQueueCmd())
}

func (a *app) messageCreateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "create",
		Short: "Print a UMF message template to edit, then send or queue",
		Args:  args(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error {
			m := &umf.Message{
				To: "{serviceName here}:/", From: cliService + ":/", MID: umf.NewMID(),
				Timestamp: umf.FormatTime(a.env.Now()), Version: umf.Version, Body: []byte("{}"),
			}
			return writeJSON(a.out, m)
		},
	}
}

// readMessage reads a UMF message (long or short form) from a file or standard input.
func (a *app) readMessage(path string) (*umf.Message, umf.Address, error) {
	raw, err := a.readInput(path)
	if err != nil {
		return nil, umf.Address{}, err
	}
	m, err := umf.Unmarshal(raw)
	if err != nil {
		return nil, umf.Address{}, fmt.Errorf("%s: %w", path, err)
	}
	to, err := umf.ParseAddress(m.To)
	if err != nil {
		return nil, umf.Address{}, fmt.Errorf("%s: to: %w", path, err)
	}
	if _, err := keyspace.ValidateService(to.Service); err != nil {
		return nil, umf.Address{}, fmt.Errorf("%s: to: %w (edit the template's {serviceName here})", path, err)
	}
	if m.MID == "" {
		m.MID = umf.NewMID()
	}
	return m, to, nil
}

func (a *app) messageSendCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "send <file|->",
		Short: "Send a UMF message to one live instance of its to service (pub/sub, no reply awaited)",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			m, _, err := a.readMessage(argv[0])
			if err != nil {
				return err
			}
			c, err := a.pubsub(cmd)
			if err != nil {
				return err
			}
			defer c.Close()
			ctx, cancel := a.ctx(cmd.Context())
			defer cancel()
			if err := c.Send(ctx, m); err != nil {
				return transportError(err)
			}
			return a.done(map[string]string{"sent": m.MID})
		},
	}
}

func (a *app) messageQueueCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "queue <file|->",
		Short: "Queue a UMF message for its to service (LPUSH mqrecieved), for a Go or Node consumer",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			m, to, err := a.readMessage(argv[0])
			if err != nil {
				return err
			}
			if m.From == "" {
				m.From = cliService + ":/"
			}
			c, err := a.fleet(cmd.Context())
			if err != nil {
				return err
			}
			p, err := queue.NewProducer(c)
			if err != nil {
				return err
			}
			ctx, cancel := a.ctx(cmd.Context())
			defer cancel()
			if err := p.Enqueue(ctx, m); err != nil {
				return err
			}
			return a.done(map[string]string{"queued": m.MID + " for " + strings.ToLower(to.Service)})
		},
	}
}

// pubsub opens the CLI's Conn: an unregistered instance of hydrakit-cli, subscribed to its channels so
// that replies reach it.
func (a *app) pubsub(cmd *cobra.Command) (*redispubsub.Conn, error) {
	c, err := a.fleet(cmd.Context())
	if err != nil {
		return nil, err
	}
	return redispubsub.NewConn(c, cliService, keyspace.NewInstanceID())
}

// transportError gives "nobody there" its exit code.
func transportError(err error) error {
	if errors.Is(err, redispubsub.ErrNoInstances) || errors.Is(err, redispubsub.ErrNoResponders) {
		return notFound(err)
	}
	return err
}
