package redispubsub

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hydrakit/hydrakit/umf"
)

// newMID returns a random UUIDv4 with dashes, the format of Node's mids (umf.NewMID), from
// math/rand/v2's ChaCha8 generator: unpredictable like crypto/rand for this purpose (a forged reply
// needs the mid) at a fraction of the cost on the request path.
func newMID() string {
	const hex = "0123456789abcdef"
	var u [16]byte
	a, b := rand.Uint64(), rand.Uint64()
	for i := range 8 {
		u[i], u[8+i] = byte(a>>(8*i)), byte(b>>(8*i))
	}
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	var s [36]byte
	j := 0
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			s[j] = '-'
			j++
		}
		s[j], s[j+1] = hex[c>>4], hex[c&0x0f]
		j += 2
	}
	return string(s[:])
}

// stamp is a formatted timestamp and the millisecond it stands for.
type stamp struct {
	ms int64
	s  string
}

var lastStamp atomic.Pointer[stamp]

// timestamp returns umf.FormatTime(now), formatting at most once per millisecond.
func timestamp(now time.Time) string {
	ms := now.UnixMilli()
	if p := lastStamp.Load(); p != nil && p.ms == ms {
		return p.s
	}
	s := umf.FormatTime(now)
	lastStamp.Store(&stamp{ms: ms, s: s})
	return s
}

// channelCache remembers the channel of instance addresses (replies go to the same few requesters
// over and over). It is cleared when it grows past maxCachedChannels.
type channelCache struct {
	mu sync.RWMutex
	m  map[string]string
}

const maxCachedChannels = 4096

func (cc *channelCache) get(addr string) (string, bool) {
	cc.mu.RLock()
	ch, ok := cc.m[addr]
	cc.mu.RUnlock()
	return ch, ok
}

func (cc *channelCache) put(addr, channel string) {
	cc.mu.Lock()
	if cc.m == nil || len(cc.m) >= maxCachedChannels {
		cc.m = make(map[string]string)
	}
	cc.m[addr] = channel
	cc.mu.Unlock()
}
