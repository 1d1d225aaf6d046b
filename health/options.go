package health

import (
	"errors"
	"fmt"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
)

// Knobs no user needs to turn; docs/health.md gives the reasons. Tests shorten some of them through
// the unexported fields they set.
const (
	// defaultInterval is Node Hydra's: a snapshot every 5 s.
	defaultInterval = 5 * time.Second
	// closeTimeout bounds the last write of Reporter.Close when Redis is slow or gone.
	closeTimeout = 2 * time.Second
	// recorderBuffer is how many entries may wait for Redis before Log drops them. Hydra's log keeps
	// only the newest logEntries, so a bigger buffer only writes entries that LTRIM removes at once.
	recorderBuffer = 1024
	// recorderTimeout bounds each write of the flight recorder and, in all, Recorder.Close.
	recorderTimeout = 2 * time.Second
	// defaultCheckTimeout bounds a check registered without CheckTimeout.
	defaultCheckTimeout = 2 * time.Second
)

// reporterTTL is the health key's time to live: it outlives one missed write plus slack for a slow
// Redis round trip, so the key never goes missing while the instance lives.
func reporterTTL(interval time.Duration) time.Duration { return 2*interval + 2*time.Second }

func configError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
}

// ReporterOption configures a Reporter. An option left out keeps its default; an invalid value makes
// NewReporter fail with ErrConfig.
type ReporterOption func(*Reporter)

// ReporterInterval sets how often the snapshot is written (default 5 s, Node Hydra's). The health
// key lives 2 × interval + 2 s (12 s by default), so one lost write never leaves it missing; Node's
// 3 s TTL with a 5 s interval leaves it missing 40% of the time. Zero or a negative d is refused.
func ReporterInterval(d time.Duration) ReporterOption {
	return func(r *Reporter) {
		if d <= 0 {
			r.fail(configError("interval %v: want more than 0", d))
		}
		r.interval = d
	}
}

// ReporterChecker adds c's roll-up status and results to every snapshot. Without it the status is
// always "ok". A nil c is refused.
func ReporterChecker(c *Checker) ReporterOption {
	return func(r *Reporter) {
		if c == nil {
			r.fail(configError("nil checker"))
		}
		r.checker = c
	}
}

func (r *Reporter) fail(err error) { r.err = errors.Join(r.err, err) }

// RecorderOption configures a Recorder. An option left out keeps its default; an invalid value makes
// NewRecorder fail with ErrConfig.
type RecorderOption func(*Recorder)

// RecorderNext sets the logger that receives every log event, recorded or not, after the recorder
// has queued it (default: one that discards). Put the recorder in front of your usual logger. A nil
// logger is refused.
func RecorderNext(next log.Logger) RecorderOption {
	return func(r *Recorder) {
		if next == nil {
			r.fail(configError("nil next logger"))
		}
		r.next = next
	}
}

// RecorderLevels sets which go-kit levels are copied to the health log (default: error only).
// Events without a level are never recorded. No levels at all, or a nil one, is refused.
func RecorderLevels(levels ...level.Value) RecorderOption {
	return func(r *Recorder) {
		if len(levels) == 0 {
			r.fail(configError("no recorder levels"))
		}
		r.levels = r.levels[:0]
		for _, l := range levels {
			if l == nil {
				r.fail(configError("nil recorder level"))
				continue
			}
			r.levels = append(r.levels, l.String())
		}
	}
}

func (r *Recorder) fail(err error) { r.err = errors.Join(r.err, err) }
