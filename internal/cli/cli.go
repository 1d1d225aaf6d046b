package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// Exit codes, for scripts.
const (
	ExitOK       = 0 // the command did what it was asked
	ExitFailed   = 1 // it failed (a Redis error, a remote error, a bad document)
	ExitUsage    = 2 // the command line is wrong
	ExitNotFound = 3 // what it names does not exist, or Redis or the service is unreachable
)

// Env is where a command runs. Zero fields take the process's own: os.Getenv, os.UserConfigDir,
// time.Now, os.Stdin.
type Env struct {
	Getenv    func(string) string
	ConfigDir string // the directory holding hydrakit/profiles.json
	Now       func() time.Time
	Stdin     io.Reader
}

// Run runs one command line (without the program name) in the process's own Env and returns its exit
// code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return Env{}.Run(ctx, args, stdout, stderr)
}

// Run runs one command line (without the program name) and returns its exit code. Errors are written
// to stderr, prefixed "hydrakit: ".
func (e Env) Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := e.app(stdout, stderr)
	root := a.root()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	a.close()
	if err == nil {
		return ExitOK
	}
	code := exitCode(err)
	fmt.Fprintln(stderr, "hydrakit:", err)
	if code == ExitUsage {
		fmt.Fprintln(stderr, "Run 'hydrakit help' for usage.")
	}
	return code
}

func (e Env) app(stdout, stderr io.Writer) *app {
	if e.Getenv == nil {
		e.Getenv = os.Getenv
	}
	if e.Now == nil {
		e.Now = time.Now
	}
	if e.Stdin == nil {
		e.Stdin = os.Stdin
	}
	if e.ConfigDir == "" {
		if dir, err := os.UserConfigDir(); err == nil {
			e.ConfigDir = dir
		}
	}
	return &app{env: e, out: stdout, errOut: stderr}
}

// exitError carries the exit code of an error.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return &exitError{ExitUsage, fmt.Errorf(format, args...)}
}

func notFoundf(format string, args ...any) error {
	return &exitError{ExitNotFound, fmt.Errorf(format, args...)}
}

func notFound(err error) error { return &exitError{ExitNotFound, err} }

func exitCode(err error) int {
	if e, ok := errors.AsType[*exitError](err); ok {
		return e.code
	}
	return ExitFailed
}

// args returns a cobra argument check whose errors are usage errors.
func args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := check(cmd, a); err != nil {
			return &exitError{ExitUsage, err}
		}
		return nil
	}
}

// group makes cmd a command that only holds subcommands: run bare, or with an unknown subcommand, it is
// a usage error.
func group(cmd *cobra.Command, subs ...*cobra.Command) *cobra.Command {
	cmd.Args = func(c *cobra.Command, a []string) error {
		if len(a) > 0 {
			return usagef("unknown command %q for %q", a[0], c.CommandPath())
		}
		return nil
	}
	cmd.RunE = func(c *cobra.Command, _ []string) error {
		names := make([]string, 0, len(subs))
		for _, s := range subs {
			names = append(names, s.Name())
		}
		return usagef("%s needs a subcommand: %s", c.CommandPath(), strings.Join(names, ", "))
	}
	cmd.AddCommand(subs...)
	return cmd
}
