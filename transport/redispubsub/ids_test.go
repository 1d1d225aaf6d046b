package redispubsub

import (
	"regexp"
	"testing"
	"time"

	"github.com/hydrakit/hydrakit/umf"
)

func TestNewMIDIsUUIDv4(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 1000 {
		mid := newMID()
		if !re.MatchString(mid) {
			t.Fatalf("%q is not a UUIDv4", mid)
		}
		if seen[mid] {
			t.Fatalf("%q repeated", mid)
		}
		seen[mid] = true
	}
}

// timestamp formats at most once per millisecond and never returns another millisecond's text.
func TestTimestampMatchesFormatTime(t *testing.T) {
	at := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for _, d := range []time.Duration{0, 400 * time.Microsecond, time.Millisecond, time.Millisecond, time.Hour, -time.Hour, 0} {
		at = at.Add(d)
		if want, have := umf.FormatTime(at), timestamp(at); want != have {
			t.Errorf("%v: want %s, have %s", at, want, have)
		}
	}
	if now := time.Now(); umf.FormatTime(now) != timestamp(now) {
		t.Errorf("now: want %s, have %s", umf.FormatTime(now), timestamp(now))
	}
}

func TestChannelCacheIsBounded(t *testing.T) {
	var cc channelCache
	for i := range maxCachedChannels + 10 {
		cc.put(string(rune(i)), "ch")
	}
	if n := len(cc.m); n > maxCachedChannels {
		t.Errorf("cache holds %d entries, more than %d", n, maxCachedChannels)
	}
}
