package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/umf"
)

// reply is what call prints: the reply's status, when it has one, and its body.
type reply struct {
	MID  string          `json:"mid"`  // the reply's mid
	RMID string          `json:"rmid"` // the request's mid
	From string          `json:"frm"`  // the instance that replied
	Type string          `json:"typ,omitempty"`
	Body json.RawMessage `json:"bdy"`
}

func (a *app) callCmd() *cobra.Command {
	var register bool
	cmd := &cobra.Command{
		Use:   "call <service:/route> [json|-]",
		Short: "Request/reply over pub/sub: send a JSON body to one live instance and print its reply",
		Long: `call sends the JSON body (default {}) to one live instance of the service (or to iid@service:/route)
and waits --timeout for the reply, which it prints. The CLI subscribes as an unregistered client, so it never
appears in nodes; hydrakit services reply to it as they are. Node Hydra replies only to senders it finds
registered: --register writes a presence key and a nodes entry for the call's duration, and removes both.`,
		Args: args(cobra.RangeArgs(1, 2)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			to, err := umf.ParseAddress(argv[0])
			if err != nil {
				return usagef("%v", err)
			}
			body := []byte("{}")
			if len(argv) == 2 {
				if body, err = a.body(argv[1]); err != nil {
					return err
				}
			}
			c, err := a.pubsub(cmd)
			if err != nil {
				return err
			}
			defer c.Close()
			msg := &umf.Message{To: to.String(), From: c.Address(), MID: umf.NewMID(), Body: body}
			ctx, cancel := a.ctx(cmd.Context())
			defer cancel()
			if register {
				fc, _ := a.fleet(ctx)
				unregister, err := announce(ctx, fc, c.Address(), a.timeout, a.env.Now())
				if err != nil {
					return err
				}
				defer unregister()
			}
			r, err := c.Request(ctx, msg)
			if errors.Is(err, context.DeadlineExceeded) {
				return notFoundf("no reply from %s within %s", argv[0], a.timeout)
			}
			if err != nil {
				return transportError(err)
			}
			out := reply{MID: r.MID, RMID: r.RMID, From: r.From, Type: r.Type, Body: r.Body}
			if err := a.emitReply(out); err != nil {
				return err
			}
			if r.Type == "error" {
				return errors.New("the service answered with an error")
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&register, "register", false, "be present for the call's duration, so that Node Hydra services reply")
	return cmd
}

func (a *app) emitReply(r reply) error {
	if a.json {
		return writeJSON(a.out, r)
	}
	var b bytes.Buffer
	if err := json.Indent(&b, r.Body, "", "  "); err != nil {
		b.Reset()
		b.Write(r.Body)
	}
	b.WriteByte('\n')
	_, err := a.out.Write(b.Bytes())
	return err
}

// body reads a JSON argument: inline, or from standard input for "-", or from a file named @path.
func (a *app) body(arg string) ([]byte, error) {
	var b []byte
	var err error
	switch {
	case arg == "-":
		b, err = a.readInput("-")
	case len(arg) > 1 && arg[0] == '@':
		b, err = a.readInput(arg[1:])
	default:
		b = []byte(arg)
	}
	if err != nil {
		return nil, err
	}
	b = bytes.TrimSpace(b)
	if !json.Valid(b) {
		return nil, usagef("the body is no JSON")
	}
	return b, nil
}

// announce makes the CLI's Conn present as Node discovers instances (presence key and nodes entry)
// until the returned func removes both; the presence key expires by itself after ttl+2s should the CLI
// die first. The nodes entry then stays for the janitor, like any dead instance's.
func announce(ctx context.Context, client *hydrakit.Client, addr string, ttl time.Duration, now time.Time) (func(), error) {
	a, err := umf.ParseAddress(addr)
	if err != nil {
		return nil, err
	}
	keys, rdb := client.Keyspace(), client.Redis()
	host, _ := os.Hostname()
	e, _ := json.Marshal(map[string]any{
		"serviceName": a.Service, "serviceDescription": "hydrakit CLI call", "version": "cli",
		"instanceID": a.Instance, "updatedOn": umf.FormatTime(now), "processID": os.Getpid(),
		"ip": "", "port": 0, "hostName": host,
	})
	presence := keys.Presence(a.Service, a.Instance)
	pipe := rdb.Pipeline()
	pipe.Set(ctx, presence, a.Instance, ttl+2*time.Second)
	pipe.HSet(ctx, keys.Nodes(), a.Instance, e)
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		pipe := rdb.Pipeline()
		pipe.Del(ctx, presence)
		pipe.HDel(ctx, keys.Nodes(), a.Instance)
		_, _ = pipe.Exec(ctx)
	}, nil
}
