// Package ratelog bounds the log lines that input can cause: a flood of bad messages must not turn
// into a flood of log lines. The components' counters (Stats) count every event; the log says that
// it happens and how often.
package ratelog

import (
	"sync"
	"time"

	"github.com/go-kit/log"
)

// Logger passes at most perSecond lines a second to the next logger and adds "suppressed", n to the
// first line it passes after leaving n out.
type Logger struct {
	next      log.Logger
	perSecond int
	// Now is the clock, time.Now unless set; tests set it before the first Log.
	Now func() time.Time

	mu      sync.Mutex
	window  time.Time
	n       int
	dropped int
}

// New returns a Logger passing at most perSecond lines a second to next.
func New(next log.Logger, perSecond int) *Logger {
	return &Logger{next: next, perSecond: perSecond, Now: time.Now}
}

// Log implements log.Logger.
func (l *Logger) Log(keyvals ...any) error {
	l.mu.Lock()
	if now := l.Now(); now.Sub(l.window) >= time.Second {
		l.window, l.n = now, 0
	}
	if l.n >= l.perSecond {
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
