package health

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hydrakit/hydrakit/internal/redistest"
)

func pass(context.Context) error { return nil }
func fail(context.Context) error { return errors.New("db down") }

func TestCheckerRollUp(t *testing.T) {
	for _, tc := range []struct {
		name     string
		register func(c *Checker)
		want     Status
	}{
		{"no checks", func(*Checker) {}, StatusOK},
		{"all pass", func(c *Checker) {
			_ = c.Register("a", pass)
			_ = c.Register("b", pass, CheckOptional())
		}, StatusOK},
		{"optional fails", func(c *Checker) {
			_ = c.Register("a", pass)
			_ = c.Register("cache", fail, CheckOptional())
		}, StatusDegraded},
		{"required fails", func(c *Checker) {
			_ = c.Register("db", fail)
			_ = c.Register("cache", fail, CheckOptional())
		}, StatusFailing},
		{"required fails alone", func(c *Checker) {
			_ = c.Register("db", fail)
			_ = c.Register("b", pass)
		}, StatusFailing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewChecker()
			tc.register(c)
			if want, have := tc.want, c.Run(context.Background()).Status; want != have {
				t.Errorf("want %q, have %q", want, have)
			}
		})
	}
}

func TestCheckerResults(t *testing.T) {
	c := NewChecker()
	_ = c.Register("zeta", pass)
	_ = c.Register("alpha", fail, CheckOptional())
	_ = c.Register("alpha", fail) // replaces: now required
	r := c.Run(context.Background())
	if want, have := 2, len(r.Checks); want != have {
		t.Fatalf("want %d results, have %d", want, have)
	}
	a, z := r.Checks[0], r.Checks[1]
	if a.Name != "alpha" || z.Name != "zeta" {
		t.Fatalf("results not sorted by name: %+v", r.Checks)
	}
	if a.Status != StatusFailing || a.Optional || a.Error != "db down" {
		t.Errorf("alpha: %+v", a)
	}
	if z.Status != StatusOK || z.Error != "" {
		t.Errorf("zeta: %+v", z)
	}
	c.Unregister("alpha")
	if want, have := StatusOK, c.Run(context.Background()).Status; want != have {
		t.Errorf("after Unregister: want %q, have %q", want, have)
	}
}

func TestCheckTimeoutAndPanic(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	c := NewChecker()
	_ = c.Register("ignores-ctx", func(context.Context) error { <-release; return nil }, CheckTimeout(50*time.Millisecond))
	_ = c.Register("honours-ctx", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() },
		CheckTimeout(20*time.Millisecond))
	_ = c.Register("panics", func(context.Context) error { panic("boom") })
	r := c.Run(context.Background())
	if want, have := StatusFailing, r.Status; want != have {
		t.Fatalf("want %q, have %q", want, have)
	}
	byName := map[string]CheckResult{}
	for _, res := range r.Checks {
		byName[res.Name] = res
	}
	if res := byName["ignores-ctx"]; !strings.Contains(res.Error, ErrCheckTimeout.Error()) {
		t.Errorf("a check ignoring its context must time out: %+v", res)
	}
	if res := byName["honours-ctx"]; res.Status != StatusFailing || !strings.Contains(res.Error, ErrCheckTimeout.Error()) {
		t.Errorf("honours-ctx: %+v", res)
	}
	if res := byName["panics"]; !strings.Contains(res.Error, "boom") || !strings.Contains(res.Error, ErrCheckPanic.Error()) {
		t.Errorf("panics: %+v", res)
	}
}

// A Run whose ctx ends fails at once; the run of the check goes on to its own timeout, for others to
// join.
func TestCheckerCancelled(t *testing.T) {
	c := NewChecker()
	returned := make(chan struct{})
	_ = c.Register("slow", func(ctx context.Context) error {
		defer close(returned)
		<-ctx.Done()
		return ctx.Err()
	}, CheckTimeout(10*time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := c.Run(ctx)
	if want, have := StatusFailing, r.Status; want != have {
		t.Errorf("want %q, have %q", want, have)
	}
	if want, have := context.Canceled.Error(), r.Checks[0].Error; want != have {
		t.Errorf("want %q, have %q", want, have)
	}
	<-returned
}

func TestRegisterRejects(t *testing.T) {
	c := NewChecker()
	for _, err := range []error{
		c.Register("", pass),
		c.Register("x", nil),
		c.Register("x", RedisCheck(nil)),
		c.Register("x", pass, CheckTimeout(0)),
		c.Register("x", pass, CheckTimeout(-time.Second)),
		c.Register("x", pass, nil),
	} {
		if !errors.Is(err, ErrConfig) {
			t.Errorf("want ErrConfig, have %v", err)
		}
	}
	if want, have := 0, len(c.Run(context.Background()).Checks); want != have {
		t.Errorf("refused checks registered: %d", have)
	}
}

// A check registered without CheckTimeout is bounded by the default.
func TestDefaultCheckTimeout(t *testing.T) {
	c := NewChecker()
	_ = c.Register("a", pass)
	if want, have := defaultCheckTimeout, c.checks["a"].timeout; want != have {
		t.Errorf("want %v, have %v", want, have)
	}
}

// The built-in Redis check follows a real Redis going away and coming back.
func TestRedisCheckOutage(t *testing.T) {
	srv := redistest.Start(t)
	client := redistest.Fleet(t, srv.Client(t))
	c := uncached(NewChecker())
	_ = c.Register("redis", RedisCheck(client), CheckTimeout(time.Second))
	if want, have := StatusOK, c.Run(context.Background()).Status; want != have {
		t.Fatalf("up: want %q, have %q", want, have)
	}
	srv.Kill(t)
	if r := c.Run(context.Background()); r.Status != StatusFailing || r.Checks[0].Error == "" {
		t.Fatalf("down: %+v", r)
	}
	srv.Restart(t)
	if want, have := StatusOK, c.Run(context.Background()).Status; want != have {
		t.Fatalf("back: want %q, have %q", want, have)
	}
}
