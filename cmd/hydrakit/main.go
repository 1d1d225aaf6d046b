// Command hydrakit sees and operates a Hydra fleet of Go (hydrakit) and Node (Hydra 1.9.3) services on
// Redis: hydra-cli's commands with the same names and Redis effects, plus queue, call, watch and
// janitor. See docs/cli.md.
//
//	go install github.com/hydrakit/hydrakit/cmd/hydrakit@latest
//	hydrakit --redis redis://127.0.0.1:6379/0 nodes
//
// `make demo DEMO_FLAGS=-stay` leaves the demo's fleet up and prints the command that shows it.
//
// Exit codes: 0 ok, 1 failed, 2 usage, 3 not found or unreachable.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit/internal/cli"
)

// quiet drops go-redis's own log lines (dial retries): the command reports the error once itself.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

func main() {
	goredis.SetLogger(quiet{})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
