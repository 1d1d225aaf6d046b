package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/go-kit/log"

	"github.com/hydrakit/hydrakit"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
)

// runSelftest starts two instances and a client, makes n calls and checks that both instances
// answered; then deregisters one and checks that the next calls all reach the other.
func runSelftest(ctx context.Context, client *hydrakit.Client, metrics http.Handler, n int, stdout io.Writer, logger log.Logger) error {
	a, err := startInstance(client, "127.0.0.1:0", metrics, log.With(logger, "who", "a"))
	if err != nil {
		return err
	}
	defer a.stop()
	b, err := startInstance(client, "127.0.0.1:0", metrics, log.With(logger, "who", "b"))
	if err != nil {
		return err
	}
	defer b.stop()

	instancer, err := sdredis.NewInstancer(client, serviceName, logger)
	if err != nil {
		return err
	}
	defer instancer.Stop()
	uppercase, endpointer := newUppercaseClient(instancer, logger)
	defer endpointer.Close()

	answered := map[string]int{}
	for i := range n {
		s := fmt.Sprintf("hello %d", i)
		resp, err := call(ctx, uppercase, s)
		if err != nil {
			return fmt.Errorf("call %d: %w", i, err)
		}
		if resp.V != strings.ToUpper(s) {
			return fmt.Errorf("call %d: want %q, have %q", i, strings.ToUpper(s), resp.V)
		}
		answered[resp.By]++
	}
	if len(answered) != 2 {
		return fmt.Errorf("want both instances to answer, have %v", answered)
	}
	fmt.Fprintf(stdout, "%d calls answered by %d instances\n", n, len(answered))

	// A graceful leave reaches the client before its next call.
	b.stop()
	time.Sleep(100 * time.Millisecond)
	for i := range n {
		resp, err := call(ctx, uppercase, "after")
		if err != nil {
			return fmt.Errorf("call %d after a leave: %w", i, err)
		}
		if resp.By != a.addr {
			return fmt.Errorf("call %d after a leave answered by %q", i, resp.By)
		}
	}
	fmt.Fprintf(stdout, "%d calls after one instance left: all answered\n", n)
	fmt.Fprintln(stdout, "selftest ok")
	return nil
}
