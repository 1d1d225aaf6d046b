package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/hydrakit/hydrakit/internal/cli"
)

// stay keeps what the tour left running (the greeters, the queue worker, hydrakit-router and the
// embedded Redis, if any) until ctx ends, and prints the hydrakit commands that show it.
func (t *tour) stay(ctx context.Context) error {
	fmt.Fprintln(t.out)
	t.say("The fleet stays up until Ctrl-C (or SIGTERM). In another terminal, with the hydrakit CLI (go install ./cmd/hydrakit):")
	fmt.Fprintln(t.out)
	redisURL, hasPassword := withoutPassword(t.redis.URL)
	fmt.Fprintln(t.out, "    "+t.cliCommand(redisURL, "nodes"))
	if redisURL == cli.DefaultURL && t.redis.CA == "" {
		fmt.Fprintln(t.out, "  (this is the CLI's default Redis, so plain `hydrakit nodes` shows it too)")
	}
	fmt.Fprintln(t.out)
	fmt.Fprintf(t.out, "  or export HYDRAKIT_REDIS_URL=%s and run hydrakit services, health, healthlog %s, queue stats %s, watch.\n",
		redisURL, greeterService, greeterService)
	if hasPassword {
		fmt.Fprintln(t.out, "  The password is left out: put it in $HYDRAKIT_REDIS_PASSWORD.")
	}
	if t.dashboard != "" {
		fmt.Fprintf(t.out, "  hydrakit-router's dashboard: %s\n", t.dashboard)
	}
	<-ctx.Done()
	t.say("Stopping the fleet.")
	return nil
}

// cliCommand is the hydrakit command line that runs cmd on the demo's Redis, with its TLS files.
func (t *tour) cliCommand(redisURL, cmd string) string {
	args := []string{"hydrakit", "--redis", redisURL}
	for _, f := range []struct{ name, file string }{{"--redis-ca", t.redis.CA}, {"--redis-cert", t.redis.Cert}, {"--redis-key", t.redis.Key}} {
		if f.file != "" {
			args = append(args, f.name, f.file)
		}
	}
	return strings.Join(append(args, cmd), " ")
}

// withoutPassword drops the password from a Redis URL, since the CLI takes passwords only from the
// environment or a file, and says whether there was one. Forms url.Parse cannot read (bare cluster
// seeds) carry none.
func withoutPassword(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw, false
	}
	if _, ok := u.User.Password(); !ok {
		return raw, false
	}
	u.User = url.User(u.User.Username())
	if u.User.Username() == "" {
		u.User = nil
	}
	return u.String(), true
}
