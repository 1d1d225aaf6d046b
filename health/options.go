package health

import (
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/hydrakit/hydrakit/keyspace"
)

// ReporterOption configures a Reporter.
type ReporterOption func(*Reporter)

// ReporterInterval is how often the snapshot is written. Default 5 s, Node Hydra's.
func ReporterInterval(d time.Duration) ReporterOption { return func(r *Reporter) { r.interval = d } }

// ReporterTTL is the health key's time to live; it must exceed the interval. Default 2×interval + 2 s
// (12 s with the default interval), so one lost write never leaves the key missing.
func ReporterTTL(d time.Duration) ReporterOption { return func(r *Reporter) { r.ttl = d } }

// ReporterChecker adds c's roll-up status and results to every snapshot. Without it the status is
// always "ok".
func ReporterChecker(c *Checker) ReporterOption { return func(r *Reporter) { r.checker = c } }

// ReporterLogger receives the reporter's own failures (Redis unreachable). Default: a nop logger.
func ReporterLogger(l log.Logger) ReporterOption { return func(r *Reporter) { r.logger = l } }

// ReporterClock replaces time.Now for the snapshot's timestamps.
func ReporterClock(now func() time.Time) ReporterOption { return func(r *Reporter) { r.now = now } }

// ReporterKeyspace replaces Node Hydra's key names; use the registrar's scheme. Default
// keyspace.Default.
func ReporterKeyspace(s keyspace.Scheme) ReporterOption { return func(r *Reporter) { r.keys = s } }

// RecorderOption configures a Recorder.
type RecorderOption func(*Recorder)

// RecorderNext receives every log event, recorded or not, after the recorder has queued it.
// Default: a nop logger.
func RecorderNext(next log.Logger) RecorderOption { return func(r *Recorder) { r.next = next } }

// RecorderLevels chooses which go-kit levels are copied to the health log. Default: error only.
// Events without a level are never recorded.
func RecorderLevels(levels ...level.Value) RecorderOption {
	return func(r *Recorder) {
		r.levels = r.levels[:0]
		for _, l := range levels {
			r.levels = append(r.levels, l.String())
		}
	}
}

// RecorderBuffer is how many entries may wait for Redis; beyond it entries are dropped and counted.
// Default 1024.
func RecorderBuffer(n int) RecorderOption { return func(r *Recorder) { r.buffer = n } }

// RecorderTimeout bounds each write to Redis. Default 2 s. go-redis applies context deadlines only on
// clients with ContextTimeoutEnabled; on others the client's read and write timeouts bound a write.
func RecorderTimeout(d time.Duration) RecorderOption { return func(r *Recorder) { r.timeout = d } }

// RecorderLogger receives the recorder's own failures (Redis unreachable). It must not be the
// Recorder itself. Default: a nop logger.
func RecorderLogger(l log.Logger) RecorderOption { return func(r *Recorder) { r.logger = l } }

// RecorderClock replaces time.Now for entry timestamps.
func RecorderClock(now func() time.Time) RecorderOption { return func(r *Recorder) { r.now = now } }

// RecorderKeyspace replaces Node Hydra's key names; use the registrar's scheme. Default
// keyspace.Default.
func RecorderKeyspace(s keyspace.Scheme) RecorderOption { return func(r *Recorder) { r.keys = s } }
