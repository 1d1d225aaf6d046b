package cli

import (
	"bufio"
	"fmt"
	"strings"

	goredis "github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
)

func (a *app) redisCmd() *cobra.Command {
	info := &cobra.Command{
		Use:   "info [section]",
		Short: "Print Redis INFO (with --json: {section: {field: value}})",
		Args:  args(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			ctx, cancel := a.ctx(cmd.Context())
			defer cancel()
			c, err := a.fleet(ctx)
			if err != nil {
				return err
			}
			var text string
			if len(argv) == 1 {
				text, err = c.Redis().Info(ctx, argv[0]).Result()
			} else {
				text, err = c.Redis().Info(ctx).Result()
			}
			if err != nil {
				return err
			}
			if !a.json {
				_, err := fmt.Fprint(a.out, strings.ReplaceAll(text, "\r\n", "\n"))
				return err
			}
			return writeJSON(a.out, parseInfo(text))
		},
	}
	return group(&cobra.Command{Use: "redis", Short: "The Redis server"}, info)
}

// parseInfo reads INFO's "# Section" headers and "field:value" lines; section names are lower-cased.
func parseInfo(text string) map[string]map[string]string {
	out := map[string]map[string]string{}
	section := "server"
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
		case strings.HasPrefix(line, "#"):
			section = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(line, "#")))
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			if out[section] == nil {
				out[section] = map[string]string{}
			}
			out[section][k] = v
		}
	}
	return out
}

func (a *app) shellCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "shell",
		Short: "Print the redis-cli command line for the current Redis (use as $(hydrakit shell)); never the password",
		Long: `Print the redis-cli command line for the current Redis (use as $(hydrakit shell)); never the password.
redis-cli reads it from $REDISCLI_AUTH. With --json: {"command": "redis-cli", "args": [...]}.`,
		Args: args(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error {
			r, err := a.resolve()
			if err != nil {
				return err
			}
			argv, err := shellArgs(r)
			if err != nil {
				return err
			}
			if a.json {
				return writeJSON(a.out, struct {
					Command string   `json:"command"`
					Args    []string `json:"args"`
				}{"redis-cli", argv})
			}
			_, err = fmt.Fprintln(a.out, "redis-cli "+strings.Join(argv, " "))
			return err
		},
	}
}

// shellArgs are redis-cli's arguments for r. The password is left to $REDISCLI_AUTH, which redis-cli
// reads, so that it shows neither here nor in the process list.
func shellArgs(r resolved) ([]string, error) {
	scheme, _, _ := strings.Cut(r.url, "://")
	var args []string
	switch scheme {
	case "redis", "rediss":
		o, err := goredis.ParseURL(r.url)
		if err != nil {
			return nil, usagef("%v", err)
		}
		host, port, _ := strings.Cut(o.Addr, ":")
		args = append(args, "-h", host, "-p", port, "-n", fmt.Sprint(o.DB))
		if o.Username != "" {
			args = append(args, "--user", o.Username)
		}
	case "redis+cluster", "rediss+cluster":
		seed, _, _ := strings.Cut(strings.TrimPrefix(r.url, scheme+"://"), ",")
		if at := strings.LastIndex(seed, "@"); at >= 0 {
			seed = seed[at+1:]
		}
		host, port, _ := strings.Cut(seed, ":")
		args = append(args, "-c", "-h", host, "-p", or(port, "6379"))
	default:
		return nil, usagef("shell: %s names no single server to open redis-cli on", scheme)
	}
	if strings.HasPrefix(scheme, "rediss") {
		args = append(args, "--tls")
		if r.ca != "" {
			args = append(args, "--cacert", r.ca)
		}
		if r.cert != "" {
			args = append(args, "--cert", r.cert, "--key", r.key)
		}
	}
	return args, nil
}
