package health

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/fleet"
)

// Status is the roll-up of a Checker's checks.
type Status string

const (
	// StatusOK: every check passed (or there are none).
	StatusOK Status = "ok"
	// StatusDegraded: only optional checks failed; the instance still serves and stays ready.
	StatusDegraded Status = "degraded"
	// StatusFailing: at least one required check failed; the instance is not ready.
	StatusFailing Status = "failing"
)

// Check reports whether one dependency works: nil means healthy. It must honour ctx, which carries
// the check's timeout.
type Check func(ctx context.Context) error

// CheckResult is the outcome of one check in a Report and a Snapshot.
type CheckResult struct {
	Name       string  `json:"name"`
	Status     Status  `json:"status"` // ok or failing
	Optional   bool    `json:"optional,omitempty"`
	Error      string  `json:"error,omitempty"`
	DurationMs float64 `json:"durationMs"`
}

// Report is the outcome of one run of every registered check, sorted by name.
type Report struct {
	Status Status        `json:"status"`
	Checks []CheckResult `json:"checks"`
}

// Checker holds named checks and runs them concurrently, each with its own timeout. It is safe for
// concurrent use; register checks before serving probes or at any time after.
type Checker struct {
	mu     sync.RWMutex
	checks map[string]registeredCheck
}

type registeredCheck struct {
	check    Check
	timeout  time.Duration
	optional bool
}

// CheckOption configures one registered check. An option left out keeps its default; an invalid
// value makes Register fail with ErrConfig.
type CheckOption func(*registeredCheck)

// CheckTimeout bounds one check (default 2 s); a check still running then fails with
// ErrCheckTimeout. Zero or a negative d is refused.
func CheckTimeout(d time.Duration) CheckOption {
	return func(r *registeredCheck) { r.timeout = d }
}

// CheckOptional marks a check whose failure degrades the instance without making it unready
// (a cache, a non-essential downstream).
func CheckOptional() CheckOption {
	return func(r *registeredCheck) { r.optional = true }
}

// NewChecker returns a Checker without checks.
func NewChecker() *Checker {
	return &Checker{checks: map[string]registeredCheck{}}
}

// Register adds the check under name, replacing any check of that name. An empty name, a nil check
// or option, or an invalid option is refused with an error wrapping ErrConfig.
func (c *Checker) Register(name string, check Check, options ...CheckOption) error {
	if name == "" || check == nil {
		return configError("a check needs a name and a function")
	}
	r := registeredCheck{check: check, timeout: defaultCheckTimeout}
	for _, o := range options {
		if o == nil {
			return configError("check %q: nil CheckOption", name)
		}
		o(&r)
	}
	if r.timeout <= 0 {
		return configError("check %q: timeout %v: want more than 0", name, r.timeout)
	}
	c.mu.Lock()
	c.checks[name] = r
	c.mu.Unlock()
	return nil
}

// Unregister removes the check registered under name, if any.
func (c *Checker) Unregister(name string) {
	c.mu.Lock()
	delete(c.checks, name)
	c.mu.Unlock()
}

// Run runs every check concurrently and rolls the results up: failing if a required check failed,
// degraded if only optional ones did, ok otherwise. It returns when all checks have returned or timed
// out, or ctx ends (checks still running then count as failed). A check that ignores its context keeps
// its goroutine until it returns; Run does not wait for it.
func (c *Checker) Run(ctx context.Context) Report {
	c.mu.RLock()
	names := make([]string, 0, len(c.checks))
	for name := range c.checks {
		names = append(names, name)
	}
	sort.Strings(names)
	checks := make([]registeredCheck, len(names))
	for i, name := range names {
		checks[i] = c.checks[name]
	}
	c.mu.RUnlock()

	results := make([]CheckResult, len(names))
	var wg sync.WaitGroup
	for i := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = runOne(ctx, names[i], checks[i])
		}()
	}
	wg.Wait()
	return Report{Status: rollUp(results), Checks: results}
}

func rollUp(results []CheckResult) Status {
	status := StatusOK
	for _, r := range results {
		if r.Status == StatusOK {
			continue
		}
		if !r.Optional {
			return StatusFailing
		}
		status = StatusDegraded
	}
	return status
}

// runOne runs a check in its own goroutine so that a check ignoring its context cannot hold the
// roll-up past its timeout.
func runOne(ctx context.Context, name string, rc registeredCheck) CheckResult {
	ctx, cancel := context.WithTimeout(ctx, rc.timeout)
	defer cancel()
	start := time.Now()
	errc := make(chan error, 1) // buffered: a late check must not block forever on send
	go func() {
		defer func() {
			if p := recover(); p != nil {
				errc <- fmt.Errorf("%w: %v", ErrCheckPanic, p)
			}
		}()
		errc <- rc.check(ctx)
	}()
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		err = fmt.Errorf("%w after %v: %w", ErrCheckTimeout, rc.timeout, ctx.Err())
	}
	res := CheckResult{
		Name:       name,
		Status:     StatusOK,
		Optional:   rc.optional,
		DurationMs: float64(time.Since(start).Microseconds()) / 1000,
	}
	if err != nil {
		res.Status = StatusFailing
		res.Error = err.Error()
	}
	return res
}

// RedisCheck pings the client's Redis: the check a Hydra service needs first, since presence, health
// and messaging all depend on Redis. For a nil client it returns nil, which Register refuses.
func RedisCheck(client *hydrakit.Client) Check {
	st := fleet.Of(client)
	if st == nil {
		return nil
	}
	rdb := st.Redis
	return func(ctx context.Context) error { return rdb.Ping(ctx).Err() }
}
