package queue

import (
	"sync"
	"time"

	"github.com/go-kit/log"
)

// logBurst is how many log lines that messages trigger (a rejected, failed, retried or
// dead-lettered message, a late result) a consumer writes per second at most: a flood of bad
// messages must not become a flood of log lines. The lines left out are counted and reported on the
// next line written.
const logBurst = 10

// limitedLogger passes at most logBurst lines per second to next and adds "suppressed", n to the
// first line after n were left out.
type limitedLogger struct {
	next log.Logger
	now  func() time.Time // time.Now outside tests

	mu      sync.Mutex
	window  time.Time
	n       int
	dropped int
}

func newLimitedLogger(next log.Logger) *limitedLogger {
	return &limitedLogger{next: next, now: time.Now}
}

func (l *limitedLogger) Log(keyvals ...any) error {
	l.mu.Lock()
	if now := l.now(); now.Sub(l.window) >= time.Second {
		l.window, l.n = now, 0
	}
	if l.n >= logBurst {
		l.dropped++
		l.mu.Unlock()
		return nil
	}
	l.n++
	dropped := l.dropped
	l.dropped = 0
	l.mu.Unlock()
	if dropped > 0 {
		keyvals = append(keyvals, "suppressed", dropped)
	}
	return l.next.Log(keyvals...)
}
