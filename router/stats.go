package router

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log"

	"github.com/hydrakit/hydrakit/umf"
)

const hour = 3600

// counters holds per-service request counts for each second of the last hour, as hydra-router's
// stats: a ring of 3600 cells per service, at most statsServices services.
type counters struct {
	mu       sync.Mutex
	services map[string]*ring
}

type ring struct {
	cells [hour]uint32
	last  int64 // unix second of the newest cell written; older cells up to an hour back are valid
}

// advance zeroes the cells of the seconds between the last write and now.
func (g *ring) advance(now int64) {
	if now <= g.last {
		return
	}
	n := min(now-g.last, hour)
	for s := now - n + 1; s <= now; s++ {
		g.cells[s%hour] = 0
	}
	g.last = now
}

func (c *counters) add(service string, now time.Time) {
	sec := now.Unix()
	c.mu.Lock()
	defer c.mu.Unlock()
	g, ok := c.services[service]
	if !ok {
		if len(c.services) >= statsServices {
			return
		}
		if c.services == nil {
			c.services = map[string]*ring{}
		}
		g = &ring{last: sec}
		c.services[service] = g
	}
	g.advance(sec)
	if sec > g.last-hour {
		g.cells[(sec%hour+hour)%hour]++
	}
}

// snapshot returns, per service, the counts of the last hour oldest first; the last is the
// current second.
func (c *counters) snapshot(now time.Time) map[string][]uint32 {
	sec := now.Unix()
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string][]uint32, len(c.services))
	for svc, g := range c.services {
		g.advance(sec)
		cells := make([]uint32, hour)
		for i := range cells {
			s := sec - hour + 1 + int64(i)
			cells[i] = g.cells[(s%hour+hour)%hour]
		}
		out[svc] = cells
	}
	return out
}

// logEntry is one /v1/router/log entry, keys in hydra-router's order.
type logEntry struct {
	TS    string `json:"ts"`
	Type  string `json:"type"`
	Entry string `json:"entry"`
}

// logRing is a go-kit logger keeping the last logEntries entries for /v1/router/log, passing every
// entry on to next.
type logRing struct {
	next log.Logger
	now  func() time.Time

	mu      sync.Mutex
	entries []logEntry // at most logEntries, oldest first
}

func (l *logRing) Log(keyvals ...any) error {
	typ := "info"
	var b strings.Builder
	for i := 0; i+1 < len(keyvals); i += 2 {
		k := fmt.Sprint(keyvals[i])
		if k == "level" {
			typ = fmt.Sprint(keyvals[i+1])
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%v", k, keyvals[i+1])
	}
	e := logEntry{TS: umf.FormatTime(l.now()), Type: typ, Entry: b.String()}
	l.mu.Lock()
	if len(l.entries) == logEntries {
		copy(l.entries, l.entries[1:])
		l.entries = l.entries[:logEntries-1]
	}
	l.entries = append(l.entries, e)
	l.mu.Unlock()
	return l.next.Log(keyvals...)
}

func (l *logRing) snapshot() []logEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append(make([]logEntry, 0, len(l.entries)), l.entries...)
}
