package health

import (
	"context"
	"errors"
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

// checkCacheFor is how long a check's result is reused. Readiness probes, a load balancer and the
// Reporter may all ask every second or faster; each check runs at most once per interval, and an
// answer is never older than the interval plus the check's own time.
const checkCacheFor = time.Second

// Checker holds named checks and runs them concurrently, each with its own timeout, at most once at a
// time and at most once per second: a Run that finds a check running joins that run, and one that
// finds a result younger than a second reuses it. So at most one goroutine runs a check whatever the
// probe rate, even a check that ignores its context. It is safe for concurrent use; register checks
// before serving probes or at any time after.
type Checker struct {
	mu     sync.Mutex
	checks map[string]*registeredCheck
	now    func() time.Time // time.Now outside tests: ages cached results
}

type registeredCheck struct {
	check    Check
	timeout  time.Duration
	optional bool

	// Guarded by Checker.mu.
	running *run        // nil when no goroutine runs the check
	last    CheckResult // the result of the last run that returned, from lastAt
	lastAt  time.Time
	ran     bool
}

// run is one run of a check, shared by every Run that asks meanwhile.
type run struct {
	failed   CheckResult   // the check's name and optional flag, failing: what waiters fill in
	timeout  time.Duration // of the check
	deadline time.Time     // start + timeout: waiters stop waiting then
	done     chan struct{} // closed when the check has returned and result is set
	result   CheckResult
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
	return &Checker{checks: map[string]*registeredCheck{}, now: time.Now}
}

// Register adds the check under name, replacing any check of that name (a run of the old one in
// progress is no longer joined). An empty name, a nil check or option, or an invalid option is
// refused with an error wrapping ErrConfig.
func (c *Checker) Register(name string, check Check, options ...CheckOption) error {
	if name == "" || check == nil {
		return configError("a check needs a name and a function")
	}
	r := &registeredCheck{check: check, timeout: defaultCheckTimeout}
	for _, o := range options {
		if o == nil {
			return configError("check %q: nil CheckOption", name)
		}
		o(r)
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

// Run returns every check's result and their roll-up: failing if a required check failed, degraded
// if only optional ones did, ok otherwise. A check's result is the one of its last run if that
// returned less than a second ago; else Run joins the run in progress or starts one, and waits until
// it returns, its timeout passes (counted from its start), or ctx ends (the check then counts as
// failed for this Run). A run is not tied to any one Run's ctx: it keeps its own timeout, so that the
// others joining it get its result. A check that ignores its context keeps its goroutine until it
// returns, and meanwhile every Run gets its timeout at once, without starting another.
func (c *Checker) Run(ctx context.Context) Report {
	c.mu.Lock()
	names := make([]string, 0, len(c.checks))
	for name := range c.checks {
		names = append(names, name)
	}
	sort.Strings(names)
	results := make([]CheckResult, len(names))
	runs := make([]*run, len(names))
	now := c.now()
	for i, name := range names {
		rc := c.checks[name]
		switch {
		case rc.ran && now.Sub(rc.lastAt) < checkCacheFor:
			results[i] = rc.last
		case rc.running != nil:
			runs[i] = rc.running
		default:
			runs[i] = c.start(name, rc)
		}
	}
	c.mu.Unlock()

	// The runs go on concurrently; waiting for them in turn takes as long as the slowest.
	for i, r := range runs {
		if r != nil {
			results[i] = r.wait(ctx)
		}
	}
	return Report{Status: rollUp(results), Checks: results}
}

// start runs rc in a goroutine of its own, which records the result as rc's last. The caller holds
// c.mu.
func (c *Checker) start(name string, rc *registeredCheck) *run {
	start := time.Now()
	r := &run{
		failed:  CheckResult{Name: name, Status: StatusFailing, Optional: rc.optional},
		timeout: rc.timeout, deadline: start.Add(rc.timeout), done: make(chan struct{}),
	}
	rc.running = r
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), rc.timeout)
		err := call(ctx, rc.check)
		cancel()
		took := time.Since(start)
		if took >= rc.timeout || errors.Is(err, context.DeadlineExceeded) {
			err = timedOut(rc.timeout)
		}
		res := r.failed
		res.DurationMs = float64(took.Microseconds()) / 1000
		if err == nil {
			res.Status = StatusOK
		} else {
			res.Error = err.Error()
		}
		c.mu.Lock()
		r.result = res
		rc.running, rc.last, rc.lastAt, rc.ran = nil, res, c.now(), true
		c.mu.Unlock()
		close(r.done)
	}()
	return r
}

// call runs check, turning a panic into an error.
func call(ctx context.Context, check Check) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", ErrCheckPanic, p)
		}
	}()
	return check(ctx)
}

func timedOut(timeout time.Duration) error {
	return fmt.Errorf("%w after %v", ErrCheckTimeout, timeout)
}

// wait returns r's result once the check returned, a timeout failure once r's deadline passed, or a
// failure with ctx's error once ctx ended, whichever comes first.
func (r *run) wait(ctx context.Context) CheckResult {
	t := time.NewTimer(time.Until(r.deadline))
	defer t.Stop()
	select {
	case <-r.done:
		return r.result
	default:
	}
	res := r.failed
	select {
	case <-r.done:
		return r.result
	case <-t.C:
		res.Error = timedOut(r.timeout).Error()
		res.DurationMs = float64(r.timeout.Microseconds()) / 1000
	case <-ctx.Done():
		res.Error = ctx.Err().Error()
	}
	return res
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
